//! A small HTTP/1.1 server side: request heads, Content-Length and chunked bodies, keep-alive,
//! responses written in one call. Every malformed input becomes an error value, never a panic.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use openssl::ssl::SslStream;

/// Bodies above this are answered 413 (DESIGN §5).
pub const MAX_BODY: usize = 1024 * 1024;
/// A request head (request line + headers) above this is answered 431; as many empty lines
/// before a request line are refused too.
pub const MAX_HEAD: usize = 64 * 1024;
/// How long a kept-alive connection may wait for its next request.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a closing connection keeps reading what the client still sends (see
/// [`Conn::linger_close`]).
const LINGER: Duration = Duration::from_secs(1);

/// A TCP connection whose reads end at a deadline however the peer trickles its bytes: the
/// socket timeout is recomputed before every read, including each of the reads the TLS layer
/// makes for one record.
pub struct Socket {
    tcp: TcpStream,
    deadline: Instant,
}

impl Socket {
    /// `write_timeout` bounds each write to a client that does not read.
    pub fn new(tcp: TcpStream, deadline: Instant, write_timeout: Duration) -> Socket {
        let _ = tcp.set_nodelay(true);
        let _ = tcp.set_write_timeout(Some(write_timeout.max(Duration::from_millis(1))));
        Socket { tcp, deadline }
    }

    pub fn set_deadline(&mut self, deadline: Instant) {
        self.deadline = deadline;
    }

    pub fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    fn timed_out(&self) -> bool {
        Instant::now() >= self.deadline
    }
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        self.tcp.set_read_timeout(Some(left))?;
        self.tcp.read(buf)
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tcp.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

/// A byte stream the server talks over: plain TCP (IMDS) or TLS (the service port).
pub trait Transport: Read + Write {
    fn socket(&mut self) -> &mut Socket;
    /// Ends the stream politely (TLS close_notify) before the socket is closed.
    fn finish(&mut self) {}
}

impl Transport for Socket {
    fn socket(&mut self) -> &mut Socket {
        self
    }
}

impl Transport for SslStream<Socket> {
    fn socket(&mut self) -> &mut Socket {
        self.get_mut()
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
    /// When its head was complete (`x-ms-server-latency` counts from here).
    pub received: Instant,
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
    /// The peer went away, or stayed idle past [`IDLE_TIMEOUT`]: close without a word.
    Io,
    /// Not HTTP we accept: answer 400 and close.
    Bad(String),
    /// Head larger than [`MAX_HEAD`]: answer 431 and close.
    TooLarge,
    /// A request was started but not finished within the request timeout: answer 408 and close.
    Timeout,
}

#[derive(Debug)]
pub enum BodyError {
    Io,
    Bad(String),
    TooLarge,
    /// The body did not arrive within the request timeout.
    Timeout,
}

impl From<ReadError> for BodyError {
    fn from(e: ReadError) -> BodyError {
        match e {
            ReadError::Closed => BodyError::Io,
            ReadError::Timeout => BodyError::Timeout,
        }
    }
}

/// Why no more bytes came.
enum ReadError {
    /// End of stream or a broken connection.
    Closed,
    /// The deadline passed.
    Timeout,
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

    /// A JSON body, its keys in the order the service writes them ([`write_json`]).
    pub fn json(status: u16, value: &serde_json::Value) -> Response {
        let mut r = Response::new(status);
        write_json(value, &mut r.body);
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

/// Where the service puts each key of its JSON bodies (KeyBundle, DeletedKeyBundle, KeyItem,
/// JsonWebKey, KeyAttributes, operation results, lists, errors), as captured responses show
/// it: `{"key":{"kid","kty","key_ops","n","e"},"attributes":{"enabled","created","updated",
/// "recoveryLevel","recoverableDays","exportable"}}`. Other keys follow, alphabetically.
const SERVICE_KEY_ORDER: &[&str] = &[
    "recoveryId",
    "deletedDate",
    "scheduledPurgeDate",
    "key",
    "kid",
    "kty",
    "key_ops",
    "n",
    "e",
    "crv",
    "x",
    "y",
    "value",
    "iv",
    "tag",
    "aad",
    "attributes",
    "enabled",
    "nbf",
    "exp",
    "created",
    "updated",
    "recoveryLevel",
    "recoverableDays",
    "exportable",
    "tags",
    "managed",
    "nextLink",
    "error",
    "code",
    "message",
    "innererror",
];

/// Writes `value` as compact JSON with object keys in [`SERVICE_KEY_ORDER`] (serde_json's map
/// is sorted alphabetically, which no Azure service does).
pub fn write_json(value: &serde_json::Value, out: &mut Vec<u8>) {
    use serde_json::Value;
    let rank = |key: &str| {
        SERVICE_KEY_ORDER
            .iter()
            .position(|k| *k == key)
            .unwrap_or(SERVICE_KEY_ORDER.len())
    };
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            // Stable: keys of equal rank keep the map's alphabetical order.
            entries.sort_by_key(|(key, _)| rank(key));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json(&Value::String(key.clone()), out);
                out.push(b':');
                write_json(item, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json(item, out);
            }
            out.push(b']');
        }
        scalar => {
            serde_json::to_writer(&mut *out, scalar).expect("a JSON scalar always serialises")
        }
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
        408 => "Request Timeout",
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
    request_timeout: Duration,
    /// When the request being read must be complete (set by its first byte).
    request_deadline: Instant,
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl<S: Transport> Conn<S> {
    pub fn new(stream: S, request_timeout: Duration) -> Conn<S> {
        Conn {
            stream,
            buf: Vec::new(),
            request_timeout,
            request_deadline: Instant::now() + request_timeout,
        }
    }

    /// Whether bytes of a next request are already here (pipelined).
    pub fn has_buffered(&self) -> bool {
        !self.buf.is_empty()
    }

    /// Reads more bytes, at most until `deadline`; `Ok(0)` at the end of the stream.
    fn fill(&mut self, deadline: Instant) -> Result<usize, ReadError> {
        self.stream.socket().set_deadline(deadline);
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) if self.stream.socket().timed_out() => return Err(ReadError::Timeout),
                Err(_) => return Err(ReadError::Closed),
            }
        }
    }

    /// Reads until the request's deadline; the end of the stream is an error here.
    fn fill_request(&mut self) -> Result<(), ReadError> {
        match self.fill(self.request_deadline)? {
            0 => Err(ReadError::Closed),
            _ => Ok(()),
        }
    }

    /// Reads the next request head. `Ok(None)`: the peer closed cleanly between requests.
    /// An idle connection may wait [`IDLE_TIMEOUT`] for it; once its first byte is in,
    /// `on_start` is called and the whole request (head and body) must arrive within the
    /// request timeout.
    pub fn read_head(&mut self, on_start: impl FnOnce()) -> Result<Option<Request>, HeadError> {
        let mut on_start = Some(on_start);
        let idle_deadline = Instant::now() + IDLE_TIMEOUT;
        let mut started = false;
        let mut blank_lines = 0usize;
        let mut scanned = 0usize;
        let end = loop {
            // Tolerate empty lines before a request line (RFC 9112 §2.2), up to a limit.
            let blank = self
                .buf
                .iter()
                .take_while(|b| matches!(b, b'\r' | b'\n'))
                .count();
            if blank > 0 {
                self.buf.drain(..blank);
                scanned = scanned.saturating_sub(blank);
                blank_lines += blank;
                if blank_lines > MAX_HEAD {
                    return Err(HeadError::Bad(
                        "more than 64 KiB of empty lines before a request line".into(),
                    ));
                }
            }
            if let Some(end) = find_head_end(&self.buf, scanned) {
                break end;
            }
            scanned = self.buf.len();
            if self.buf.len() > MAX_HEAD {
                return Err(HeadError::TooLarge);
            }
            if !started && !self.buf.is_empty() {
                started = true;
                self.request_deadline = Instant::now() + self.request_timeout;
                if let Some(f) = on_start.take() {
                    f();
                }
            }
            let deadline = if started {
                self.request_deadline
            } else {
                idle_deadline
            };
            match self.fill(deadline) {
                Ok(0) if self.buf.is_empty() => return Ok(None),
                Ok(0) | Err(ReadError::Closed) => return Err(HeadError::Io),
                Ok(_) => {}
                Err(ReadError::Timeout) if started => return Err(HeadError::Timeout),
                Err(ReadError::Timeout) => return Err(HeadError::Io),
            }
        };
        if !started {
            // The whole head was already here (pipelined): its clock starts now.
            self.request_deadline = Instant::now() + self.request_timeout;
            if let Some(f) = on_start.take() {
                f();
            }
        }
        if end > MAX_HEAD {
            return Err(HeadError::TooLarge);
        }
        let head: Vec<u8> = self.buf.drain(..end).collect();
        parse_head(&head).map(Some)
    }

    /// Reads the body the head announced, at most `limit` bytes, within the request's deadline.
    pub fn read_body(&mut self, req: &mut Request, limit: usize) -> Result<(), BodyError> {
        match req.body_kind {
            BodyKind::Empty => Ok(()),
            BodyKind::Length(n) => {
                if n > limit {
                    return Err(BodyError::TooLarge);
                }
                while self.buf.len() < n {
                    self.fill_request()?;
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
                        self.fill_request()?;
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
            self.fill_request()?;
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
    /// writing, then read and discard for a moment (at most [`LINGER`]) so the kernel does not
    /// answer the unread bytes with a reset that would destroy the response in flight.
    pub fn linger_close(mut self) {
        self.stream.finish();
        let socket = self.stream.socket();
        let _ = socket.tcp().shutdown(Shutdown::Write);
        socket.set_deadline(Instant::now() + LINGER);
        let mut sink = [0u8; 16 * 1024];
        let mut total = 0usize;
        while total < 4 * MAX_BODY {
            match socket.read(&mut sink) {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    }
}

/// The end of a request head (after its empty line), looking only from about `from` on: the
/// bytes before it were searched already.
fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    (from.saturating_sub(3)..buf.len()).find_map(|i| {
        if buf[i..].starts_with(b"\r\n\r\n") {
            Some(i + 4)
        } else if buf[i..].starts_with(b"\n\n") {
            Some(i + 2)
        } else {
            None
        }
    })
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
        received: Instant::now(),
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
    fn json_keys_come_in_the_service_order() {
        let bundle = serde_json::json!({
            "tags": {"b": "1", "a": "2"},
            "attributes": {"exportable": false, "updated": 2, "created": 1, "enabled": true,
                "recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90},
            "key": {"e": "AQAB", "n": "AA", "kty": "RSA", "kid": "k", "key_ops": ["sign"]},
            "zzz": null
        });
        let mut out = Vec::new();
        write_json(&bundle, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"key":{"kid":"k","kty":"RSA","key_ops":["sign"],"n":"AA","e":"AQAB"},"attributes":{"enabled":true,"created":1,"updated":2,"recoveryLevel":"Recoverable+Purgeable","recoverableDays":90,"exportable":false},"tags":{"a":"2","b":"1"},"zzz":null}"#
        );
    }

    #[test]
    fn the_head_end_is_found_across_reads() {
        let head = b"GET / HTTP/1.1\r\nHost: x\r\n\r\nnext";
        let end = head.len() - 4;
        // However much was scanned (without the end in it) before, the end is found.
        for scanned in 0..end {
            assert_eq!(find_head_end(head, scanned), Some(end), "{scanned}");
        }
        assert_eq!(find_head_end(b"GET / HTTP/1.1\n\n", 0), Some(16));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n", 0), None);
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
