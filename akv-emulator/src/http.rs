//! A small HTTP/1.1 server side: request heads, Content-Length and chunked bodies, keep-alive,
//! responses written in one call. Every malformed input becomes an error value, never a panic.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use openssl::ssl::SslStream;

/// Bodies above this are answered 413 (DESIGN §5).
pub const MAX_BODY: usize = 1024 * 1024;
/// A request head (request line + headers) above this is answered 431.
pub const MAX_HEAD: usize = 64 * 1024;

/// A byte stream the server talks over: plain TCP (IMDS) or TLS (the service port).
pub trait Transport: Read + Write {
    fn tcp(&self) -> &TcpStream;
    /// Ends the stream politely (TLS close_notify) before the socket is closed.
    fn finish(&mut self) {}
}

impl Transport for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl Transport for SslStream<TcpStream> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref()
    }
    fn finish(&mut self) {
        let _ = self.shutdown();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Empty,
    Length(usize),
    Chunked,
}

#[derive(Debug)]
pub struct Request {
    pub method: String,
    /// The path as sent, without the query.
    pub path: String,
    pub query: Vec<(String, String)>,
    /// Header names in lowercase.
    pub headers: Vec<(String, String)>,
    pub http10: bool,
    pub body_kind: BodyKind,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn expects_continue(&self) -> bool {
        self.header("expect")
            .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    }

    /// Whether the client asked to close the connection after this exchange.
    pub fn wants_close(&self) -> bool {
        let tokens = |v: &str, t: &str| v.split(',').any(|p| p.trim().eq_ignore_ascii_case(t));
        match self.header("connection") {
            Some(v) if tokens(v, "close") => true,
            Some(v) if self.http10 => !tokens(v, "keep-alive"),
            _ => self.http10,
        }
    }

    pub fn has_body(&self) -> bool {
        !matches!(self.body_kind, BodyKind::Empty | BodyKind::Length(0))
    }
}

#[derive(Debug)]
pub enum HeadError {
    /// The peer went away or timed out: close without a word.
    Io,
    /// Not HTTP we accept: answer 400 and close.
    Bad(String),
    /// Head larger than [`MAX_HEAD`]: answer 431 and close.
    TooLarge,
}

#[derive(Debug)]
pub enum BodyError {
    Io,
    Bad(String),
    TooLarge,
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Close the connection after this response.
    pub close: bool,
}

impl Response {
    pub fn new(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            close: false,
        }
    }

    pub fn json(status: u16, value: &serde_json::Value) -> Response {
        let mut r = Response::new(status);
        r.body = serde_json::to_vec(value).expect("a serde_json::Value always serialises");
        r.header("Content-Type", "application/json; charset=utf-8")
    }

    pub fn header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn closing(mut self) -> Response {
        self.close = true;
        self
    }

    /// Status line, headers and body in one buffer, so they leave in one write.
    pub fn to_bytes(&self, keep_alive_10: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.body.len());
        out.extend_from_slice(
            format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status)).as_bytes(),
        );
        for (name, value) in &self.headers {
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        if self.status != 204 && self.status >= 200 {
            out.extend_from_slice(format!("Content-Length: {}\r\n", self.body.len()).as_bytes());
        }
        if self.close {
            out.extend_from_slice(b"Connection: close\r\n");
        } else if keep_alive_10 {
            out.extend_from_slice(b"Connection: keep-alive\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
        out
    }
}

pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        410 => "Gone",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// One connection's reading state: bytes read past the current request stay in `buf`
/// (pipelined requests).
pub struct Conn<S: Transport> {
    pub stream: S,
    buf: Vec<u8>,
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl<S: Transport> Conn<S> {
    pub fn new(stream: S) -> Conn<S> {
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads the next request head. `Ok(None)`: the peer closed cleanly between requests.
    pub fn read_head(&mut self) -> Result<Option<Request>, HeadError> {
        let end = loop {
            // Tolerate empty lines before a request line (RFC 9112 §2.2).
            while self.buf.first().is_some_and(|b| *b == b'\r' || *b == b'\n') {
                self.buf.remove(0);
            }
            if let Some(end) = find_head_end(&self.buf) {
                break end;
            }
            if self.buf.len() > MAX_HEAD {
                return Err(HeadError::TooLarge);
            }
            match self.fill() {
                Ok(0) if self.buf.is_empty() => return Ok(None),
                Ok(0) => return Err(HeadError::Io),
                Ok(_) => {}
                Err(_) => return Err(HeadError::Io),
            }
        };
        if end > MAX_HEAD {
            return Err(HeadError::TooLarge);
        }
        let head: Vec<u8> = self.buf.drain(..end).collect();
        parse_head(&head).map(Some)
    }

    /// Reads the body the head announced, at most `limit` bytes.
    pub fn read_body(&mut self, req: &mut Request, limit: usize) -> Result<(), BodyError> {
        match req.body_kind {
            BodyKind::Empty => Ok(()),
            BodyKind::Length(n) => {
                if n > limit {
                    return Err(BodyError::TooLarge);
                }
                while self.buf.len() < n {
                    match self.fill() {
                        Ok(0) | Err(_) => return Err(BodyError::Io),
                        Ok(_) => {}
                    }
                }
                req.body = self.buf.drain(..n).collect();
                Ok(())
            }
            BodyKind::Chunked => {
                let mut body = Vec::new();
                loop {
                    let line = self.read_line()?;
                    let size = line.split(';').next().unwrap_or("").trim();
                    let size = usize::from_str_radix(size, 16)
                        .map_err(|_| BodyError::Bad(format!("bad chunk size line '{line}'")))?;
                    if size == 0 {
                        // Trailers, up to the empty line.
                        while !self.read_line()?.is_empty() {}
                        break;
                    }
                    if size > limit - body.len() {
                        return Err(BodyError::TooLarge);
                    }
                    while self.buf.len() < size + 2 {
                        match self.fill() {
                            Ok(0) | Err(_) => return Err(BodyError::Io),
                            Ok(_) => {}
                        }
                    }
                    body.extend(self.buf.drain(..size));
                    if &self.buf[..2] != b"\r\n" {
                        return Err(BodyError::Bad("chunk data not followed by CRLF".into()));
                    }
                    self.buf.drain(..2);
                }
                req.body = body;
                Ok(())
            }
        }
    }

    fn read_line(&mut self) -> Result<String, BodyError> {
        loop {
            if let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                let line = String::from_utf8(line)
                    .map_err(|_| BodyError::Bad("chunk line is not UTF-8".into()))?;
                return Ok(line.trim_end_matches(['\r', '\n']).to_string());
            }
            if self.buf.len() > 4096 {
                return Err(BodyError::Bad("chunk line too long".into()));
            }
            match self.fill() {
                Ok(0) | Err(_) => return Err(BodyError::Io),
                Ok(_) => {}
            }
        }
    }

    pub fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    pub fn send(&mut self, response: &Response, req: Option<&Request>) -> io::Result<()> {
        let keep_alive_10 = req.is_some_and(|r| r.http10 && !r.wants_close());
        self.write_all(&response.to_bytes(keep_alive_10))
    }

    /// Closes after a response that the client may still be sending a body behind: stop
    /// writing, then read and discard for a moment so the kernel does not answer the unread
    /// bytes with a reset that would destroy the response in flight.
    pub fn linger_close(mut self) {
        self.stream.finish();
        let tcp = self.stream.tcp();
        let _ = tcp.shutdown(Shutdown::Write);
        let _ = tcp.set_read_timeout(Some(Duration::from_millis(500)));
        let mut sink = [0u8; 16 * 1024];
        let mut total = 0usize;
        let mut raw = tcp;
        while total < 4 * MAX_BODY {
            match raw.read(&mut sink) {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    }
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    for i in 0..buf.len() {
        if buf[i..].starts_with(b"\r\n\r\n") {
            return Some(i + 4);
        }
        if buf[i..].starts_with(b"\n\n") {
            return Some(i + 2);
        }
    }
    None
}

fn parse_head(head: &[u8]) -> Result<Request, HeadError> {
    let text = std::str::from_utf8(head)
        .map_err(|_| HeadError::Bad("request head is not valid UTF-8".into()))?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (method, target, version) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(t), Some(v), None) => (m, t, v),
        _ => {
            return Err(HeadError::Bad(format!(
                "malformed request line '{request_line}'"
            )));
        }
    };
    if !is_token(method) {
        return Err(HeadError::Bad(format!("invalid method '{method}'")));
    }
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        _ => return Err(HeadError::Bad(format!("unsupported protocol '{version}'"))),
    };
    let mut headers = Vec::new();
    for line in lines {
        if line.is_empty() {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            return Err(HeadError::Bad("obsolete header line folding".into()));
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| HeadError::Bad(format!("header line without a colon: '{line}'")))?;
        if !is_token(name) {
            return Err(HeadError::Bad(format!("invalid header name '{name}'")));
        }
        headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
    }

    // Absolute-form targets (sent to proxies) carry the path after the authority.
    let mut target = target;
    for scheme in ["http://", "https://"] {
        if let Some(rest) = target.strip_prefix(scheme) {
            target = rest.find('/').map(|i| &rest[i..]).unwrap_or("/");
        }
    }
    if !target.starts_with('/') {
        return Err(HeadError::Bad(format!(
            "request target '{target}' is not a path"
        )));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = crate::util::parse_form(query)
        .ok_or_else(|| HeadError::Bad("query string is not valid percent-encoding".into()))?;

    let lengths: Vec<&str> = headers
        .iter()
        .filter(|(n, _)| n == "content-length")
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .collect();
    let chunked = match headers.iter().find(|(n, _)| n == "transfer-encoding") {
        None => false,
        Some((_, v)) => {
            let last = v.rsplit(',').next().unwrap_or("").trim();
            if !last.eq_ignore_ascii_case("chunked") {
                return Err(HeadError::Bad(format!(
                    "unsupported Transfer-Encoding '{v}'"
                )));
            }
            true
        }
    };
    let body_kind = if chunked {
        if !lengths.is_empty() {
            return Err(HeadError::Bad(
                "both Content-Length and Transfer-Encoding given".into(),
            ));
        }
        BodyKind::Chunked
    } else if let Some(first) = lengths.first() {
        if lengths.iter().any(|l| l != first) {
            return Err(HeadError::Bad("conflicting Content-Length values".into()));
        }
        if first.is_empty() || !first.bytes().all(|b| b.is_ascii_digit()) {
            return Err(HeadError::Bad(format!("invalid Content-Length '{first}'")));
        }
        // A length that does not fit is certainly too large.
        BodyKind::Length(first.parse().unwrap_or(usize::MAX))
    } else {
        BodyKind::Empty
    };

    Ok(Request {
        method: method.to_string(),
        path: path.to_string(),
        query,
        headers,
        http10,
        body_kind,
        body: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_request_with_query_and_length() {
        let r = parse_head(
            b"POST /keys/k//sign?api-version=7.5 HTTP/1.1\r\nHost: v.vault.azure.net\r\nContent-Length: 12\r\n\r\n",
        )
        .unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/keys/k//sign");
        assert_eq!(r.query("api-version"), Some("7.5"));
        assert_eq!(r.header("host"), Some("v.vault.azure.net"));
        assert_eq!(r.body_kind, BodyKind::Length(12));
    }

    #[test]
    fn rejects_smuggling_shapes() {
        assert!(matches!(
            parse_head(b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            Err(HeadError::Bad(_))
        ));
        assert!(matches!(
            parse_head(
                b"POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
            ),
            Err(HeadError::Bad(_))
        ));
        assert!(matches!(
            parse_head(b"GET / HTTP/2.0\r\n\r\n"),
            Err(HeadError::Bad(_))
        ));
        assert!(matches!(
            parse_head(b"GET /\xff HTTP/1.1\r\n\r\n"),
            Err(HeadError::Bad(_))
        ));
    }

    #[test]
    fn http10_closes_unless_keep_alive() {
        let r = parse_head(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        assert!(r.wants_close());
        let r = parse_head(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").unwrap();
        assert!(!r.wants_close());
        let r = parse_head(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n").unwrap();
        assert!(r.wants_close());
    }
}
