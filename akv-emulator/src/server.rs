//! Listeners and connections: a thread per connection (at most `--threads` per listener),
//! TLS on the service port, plain HTTP on the IMDS port. Each request goes through the same
//! steps: classify (admin / service / token endpoint), check auth before the body is read,
//! read the body (413 above 1 MiB), count it, apply a fault, add `--latency-ms`, answer in
//! one write.

use std::collections::{HashMap, VecDeque};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use openssl::ssl::SslAcceptor;
use serde_json::json;

use crate::Options;
use crate::admin::{self, FaultAction, Faults, Stats};
use crate::auth::TokenIssuer;
use crate::error::ApiError;
use crate::host::{self, Host, Service};
use crate::http::{
    BodyError, BodyKind, Conn, HeadError, MAX_BODY, Request, Response, Socket, Transport,
};
use crate::identity;
use crate::keys::Store;
use crate::rest::{self, KeyRoute, Keys};

pub struct Shared {
    pub options: Options,
    pub tokens: TokenIssuer,
    pub store: Mutex<Store>,
    pub stats: Stats,
    pub faults: Faults,
    pub identity_header: String,
    pub arc_dir: PathBuf,
    /// Outstanding Azure Arc challenges (secret, file), oldest first.
    arc_challenges: Mutex<VecDeque<(String, PathBuf)>>,
    pub shutdown: AtomicBool,
    conns: Mutex<HashMap<u64, OpenConn>>,
    next_conn: AtomicU64,
}

/// An open connection, as the accept loops and a stop see it.
struct OpenConn {
    listener: Listener,
    tcp: TcpStream,
    /// Since when it waits for its next request with nothing buffered (kept alive, idle).
    idle_since: Option<Instant>,
}

impl Shared {
    pub fn new(options: Options, arc_dir: PathBuf) -> Shared {
        Shared {
            tokens: TokenIssuer::new(options.token_ttl.as_secs()),
            options,
            store: Mutex::new(Store::default()),
            stats: Stats::default(),
            faults: Faults::default(),
            identity_header: crate::util::random_hex(16),
            arc_dir,
            arc_challenges: Mutex::new(VecDeque::new()),
            shutdown: AtomicBool::new(false),
            conns: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(0),
        }
    }

    fn conns(&self) -> std::sync::MutexGuard<'_, HashMap<u64, OpenConn>> {
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Closes every open connection (the emulator is stopping).
    pub fn close_all(&self) {
        for conn in self.conns().values() {
            let _ = conn.tcp.shutdown(Shutdown::Both);
        }
    }

    fn set_idle(&self, id: u64, idle: bool) {
        if let Some(conn) = self.conns().get_mut(&id) {
            conn.idle_since = idle.then(Instant::now);
        }
    }

    /// Closes the connection of `listener` that has been idle longest, to make room for a new
    /// client (a server may close an idle kept-alive connection at any time; clients reconnect).
    /// Returns whether there was one.
    fn close_longest_idle(&self, listener: Listener) -> bool {
        let mut conns = self.conns();
        let oldest = conns
            .values_mut()
            .filter(|c| c.listener == listener)
            .filter_map(|c| c.idle_since.map(|since| (since, c)))
            .min_by_key(|(since, _)| *since);
        match oldest {
            Some((_, conn)) => {
                conn.idle_since = None;
                let _ = conn.tcp.shutdown(Shutdown::Both);
                true
            }
            None => false,
        }
    }
}

/// A counting limit on concurrent connections (`--threads` per listener).
struct Slots {
    free: Mutex<usize>,
    changed: Condvar,
}

impl Slots {
    fn new(n: usize) -> Slots {
        Slots {
            free: Mutex::new(n.max(1)),
            changed: Condvar::new(),
        }
    }

    /// Takes a slot, waiting at most `wait` for one.
    fn take(&self, wait: Duration) -> bool {
        let free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        let (mut free, _) = self
            .changed
            .wait_timeout_while(free, wait, |free| *free == 0)
            .unwrap_or_else(|e| e.into_inner());
        if *free == 0 {
            return false;
        }
        *free -= 1;
        true
    }

    fn release(&self) {
        *self.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.changed.notify_one();
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Listener {
    Https,
    Imds,
}

/// A connection's slot and registry entry, given back when its thread ends, even by a panic.
struct ConnGuard {
    shared: Arc<Shared>,
    slots: Arc<Slots>,
    id: u64,
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.shared.conns().remove(&self.id);
        self.slots.release();
    }
}

/// Accepts connections until shutdown; each gets its own thread and one of the listener's
/// `--threads` slots. When every slot is taken, the longest-idle kept-alive connection is
/// closed for the newcomer; when none is idle, it waits for a request to finish (each is
/// bounded by the request timeout).
pub fn accept_loop(
    shared: Arc<Shared>,
    listener: TcpListener,
    kind: Listener,
    acceptor: Option<Arc<SslAcceptor>>,
) {
    let slots = Arc::new(Slots::new(shared.options.threads));
    loop {
        let accepted = listener.accept();
        if shared.shutdown.load(Ordering::SeqCst) {
            return;
        }
        let Ok((stream, _)) = accepted else {
            // Out of descriptors or similar: do not spin.
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        while !slots.take(Duration::ZERO) {
            if shared.shutdown.load(Ordering::SeqCst) {
                return;
            }
            shared.close_longest_idle(kind);
            if slots.take(Duration::from_millis(200)) {
                break;
            }
        }
        let request_timeout = shared.options.request_timeout;
        let socket = Socket::new(stream, Instant::now() + request_timeout, request_timeout);
        let id = shared.next_conn.fetch_add(1, Ordering::SeqCst);
        if let Ok(tcp) = socket.tcp().try_clone() {
            shared.conns().insert(
                id,
                OpenConn {
                    listener: kind,
                    tcp,
                    idle_since: None,
                },
            );
        }
        let guard = ConnGuard {
            shared: shared.clone(),
            slots: slots.clone(),
            id,
        };
        let acceptor = acceptor.clone();
        // If the thread cannot start, the closure (and the guard in it) is dropped: the slot
        // and the entry are given back and the socket closed.
        let _ = std::thread::Builder::new()
            .name(format!("akv-emulator-conn-{id}"))
            .spawn(move || {
                let shared = &guard.shared;
                match acceptor {
                    // The handshake is bounded by the socket's first deadline.
                    Some(acceptor) => {
                        if let Ok(tls) = acceptor.accept(socket) {
                            serve(shared, Conn::new(tls, request_timeout), kind, id);
                        }
                    }
                    None => serve(shared, Conn::new(socket, request_timeout), kind, id),
                }
            });
    }
}

enum Next {
    KeepAlive,
    /// A response that ends the connection was sent: close it gracefully.
    Close,
    /// Close at once, without a response (or after a failed write).
    Drop,
}

fn serve<S: Transport>(shared: &Shared, mut conn: Conn<S>, kind: Listener, id: u64) {
    let mut counted = false;
    loop {
        if shared.shutdown.load(Ordering::SeqCst) {
            return;
        }
        if !conn.has_buffered() {
            shared.set_idle(id, true);
        }
        let mut req = match conn.read_head(|| shared.set_idle(id, false)) {
            Ok(Some(req)) => req,
            Ok(None) | Err(HeadError::Io) => return,
            Err(HeadError::Bad(message)) => {
                let response = protocol_error(kind, 400, &message);
                let _ = conn.send(&response, None);
                conn.linger_close();
                return;
            }
            Err(HeadError::TooLarge) => {
                let response = protocol_error(kind, 431, "The request head is larger than 64 KiB.");
                let _ = conn.send(&response, None);
                conn.linger_close();
                return;
            }
            Err(HeadError::Timeout) => {
                let _ = conn.send(&request_timeout(shared, kind), None);
                conn.linger_close();
                return;
            }
        };
        match exchange(shared, &mut conn, &mut req, kind, &mut counted) {
            Next::KeepAlive => {}
            Next::Close => {
                conn.linger_close();
                return;
            }
            Next::Drop => return,
        }
    }
}

fn protocol_error(kind: Listener, status: u16, message: &str) -> Response {
    let body = match kind {
        Listener::Https => json!({"error": {"code": "BadParameter", "message": message}}),
        Listener::Imds => json!({"error": "invalid_request", "error_description": message}),
    };
    Response::json(status, &body).closing()
}

/// The 408 for a client that started a request and did not finish it in time.
fn request_timeout(shared: &Shared, kind: Listener) -> Response {
    let message = format!(
        "The request was not received within {} ms.",
        shared.options.request_timeout.as_millis()
    );
    let mut response = protocol_error(kind, 408, &message);
    if kind == Listener::Https {
        response = ApiError::new(408, "RequestTimeout", message)
            .response()
            .closing();
    }
    response
}

enum AdminRoute {
    Stats,
    AddFaults,
    ClearFaults,
}

enum TokenRoute {
    Imds,
    Arc,
    AppService,
    Entra { tenant: String },
}

enum Handler {
    Admin(AdminRoute),
    Keys(Service, KeyRoute),
    Token(TokenRoute),
    /// An answer decided from the head alone, after the body is read (it counts for `op`).
    Fixed(Response),
}

/// What to do with a request, decided from its head.
struct Plan {
    admin: bool,
    /// The operation it counts as (stats, faults); `None` for admin and rejected requests.
    op: Option<&'static str>,
    /// A key operation: `--latency-ms` applies.
    key_op: bool,
    action: Result<Handler, Response>,
}

impl Plan {
    fn early(response: Response) -> Plan {
        Plan {
            admin: false,
            op: None,
            key_op: false,
            action: Err(response),
        }
    }

    fn handle(op: &'static str, handler: Handler) -> Plan {
        Plan {
            admin: false,
            op: Some(op),
            key_op: matches!(handler, Handler::Keys(..)),
            action: Ok(handler),
        }
    }
}

fn plan_admin(req: &Request) -> Plan {
    let route = match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/_emulator/stats") => Ok(Handler::Admin(AdminRoute::Stats)),
        ("POST", "/_emulator/faults") => Ok(Handler::Admin(AdminRoute::AddFaults)),
        ("DELETE", "/_emulator/faults") => Ok(Handler::Admin(AdminRoute::ClearFaults)),
        (_, "/_emulator/stats" | "/_emulator/faults") => Err(ApiError::new(
            405,
            "MethodNotAllowed",
            "The admin API takes GET /_emulator/stats, POST and DELETE /_emulator/faults.",
        )
        .response()),
        _ => Err(ApiError::new(
            404,
            "NotFound",
            "The admin API has /_emulator/stats and /_emulator/faults.",
        )
        .response()),
    };
    Plan {
        admin: true,
        op: None,
        key_op: false,
        action: route,
    }
}

fn plan_https(shared: &Shared, req: &Request) -> Plan {
    if is_admin_path(&req.path) {
        return plan_admin(req);
    }
    match host::classify(req.header("host")) {
        Host::Service(service) => {
            if let Err(why) = shared
                .tokens
                .check(req.header("authorization"), &service.audience())
            {
                return Plan::early(crate::auth::challenge(&service, &why));
            }
            if let Err(e) = rest::check_api_version(&service, req.query("api-version")) {
                return Plan::early(e.response());
            }
            match rest::route(&req.method, &req.path) {
                Ok(route) => Plan::handle(route.stat_name(), Handler::Keys(service, route)),
                Err(e) => Plan::early(e.response()),
            }
        }
        Host::Authority(_) => {
            let segments: Vec<&str> = req.path.trim_start_matches('/').split('/').collect();
            match segments.as_slice() {
                [tenant, "oauth2", "v2.0", "token"]
                    if crate::util::valid_name(&tenant.replace('.', "-"), 1, 128) =>
                {
                    if req.method != "POST" {
                        return Plan::early(
                            Response::json(
                                405,
                                &json!({"error": "invalid_request", "error_description": "The token endpoint takes POST."}),
                            ),
                        );
                    }
                    Plan::handle(
                        "token",
                        Handler::Token(TokenRoute::Entra {
                            tenant: tenant.to_string(),
                        }),
                    )
                }
                _ => Plan::early(Response::json(
                    404,
                    &json!({"error": "not_found", "error_description": "The emulated Entra authority serves POST /<tenant>/oauth2/v2.0/token."}),
                )),
            }
        }
        Host::BadVaultName(label) => Plan::early(
            ApiError::bad(format!(
                "Invalid vault name '{}' in the Host header: a vault or Managed HSM name is 3-24 characters of 0-9, a-z, A-Z and '-'.",
                label.chars().take(64).collect::<String>()
            ))
            .response(),
        ),
        Host::Other(name) => Plan::early(
            ApiError::bad(format!(
                "Host '{}' is neither a vault (<name>.vault.azure.net), a Managed HSM (<name>.managedhsm.azure.net) nor an Entra authority host; set the Host header (clients: AKV_CONNECT_TO).",
                name.chars().take(100).collect::<String>()
            ))
            .response(),
        ),
    }
}

fn plan_imds(shared: &Shared, req: &Request) -> Plan {
    let not_found = || {
        Plan::early(Response::json(
            404,
            &json!({"error": "not_found", "error_description": "This endpoint serves /metadata/identity/oauth2/token and /msi/token."}),
        ))
    };
    let route = match req.path.as_str() {
        "/metadata/identity/oauth2/token" => {
            let arc = req
                .query("api-version")
                .is_some_and(|v| identity::ARC_API_VERSIONS.contains(&v));
            if arc {
                TokenRoute::Arc
            } else {
                TokenRoute::Imds
            }
        }
        "/msi/token" => TokenRoute::AppService,
        _ => return not_found(),
    };
    if req.method != "GET" {
        return Plan::early(Response::json(
            405,
            &json!({"error": "invalid_request", "error_description": "The token endpoint takes GET."}),
        ));
    }
    match route {
        TokenRoute::AppService => {
            let given = req.header("x-identity-header").unwrap_or("");
            let expected = shared.identity_header.as_bytes();
            if given.len() != expected.len() || !openssl::memcmp::eq(given.as_bytes(), expected) {
                return Plan::early(Response::json(
                    401,
                    &json!({"error": "unauthorized", "error_description": "The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER."}),
                ));
            }
        }
        TokenRoute::Arc => {
            if !req
                .header("metadata")
                .is_some_and(|v| v.eq_ignore_ascii_case("true"))
            {
                return Plan::handle(
                    "token",
                    Handler::Fixed(Response::json(
                        400,
                        &json!({"error": "invalid_request", "error_description": "Required metadata header not specified"}),
                    )),
                );
            }
            if !arc_secret_ok(shared, req.header("authorization")) {
                return Plan::early(arc_challenge(shared));
            }
        }
        _ => {}
    }
    Plan::handle("token", Handler::Token(route))
}

/// Azure Arc challenges not yet answered; beyond this the oldest expire (with their files), so
/// clients that never answer cannot fill the disk.
const MAX_ARC_CHALLENGES: usize = 64;

/// Takes a challenge secret from `Authorization: Basic <secret>`: each works once, and its
/// file is removed.
fn arc_secret_ok(shared: &Shared, authorization: Option<&str>) -> bool {
    let Some((scheme, secret)) = authorization.and_then(|a| a.split_once(' ')) else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let secret = secret.trim().as_bytes();
    let used = {
        let mut challenges = shared
            .arc_challenges
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        challenges
            .iter()
            .position(|(s, _)| s.len() == secret.len() && openssl::memcmp::eq(s.as_bytes(), secret))
            .and_then(|i| challenges.remove(i))
    };
    match used {
        Some((_, path)) => {
            let _ = std::fs::remove_file(path);
            true
        }
        None => false,
    }
}

/// Writes a new secret to `<arc_dir>/<random>.key` and answers with the Basic challenge.
fn arc_challenge(shared: &Shared) -> Response {
    let secret = crate::util::random_hex(32);
    let path = shared
        .arc_dir
        .join(format!("{}.key", crate::util::random_hex(16)));
    if let Err(e) = write_secret_file(&path, &secret) {
        return Response::json(
            500,
            &json!({"error": "server_error", "error_description": format!("could not write the challenge file {}: {e}", path.display())}),
        );
    }
    let expired = {
        let mut challenges = shared
            .arc_challenges
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        challenges.push_back((secret, path.clone()));
        (challenges.len() > MAX_ARC_CHALLENGES)
            .then(|| challenges.pop_front())
            .flatten()
    };
    if let Some((_, oldest)) = expired {
        let _ = std::fs::remove_file(oldest);
    }
    Response::json(
        401,
        &json!({"error": "unauthorized", "error_description": "Use the secret in the challenge file as Basic authorization."}),
    )
    .header("WWW-Authenticate", &format!("Basic realm={}", path.display()))
}

fn write_secret_file(path: &std::path::Path, secret: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(secret.as_bytes())
}

/// `x-ms-keyvault-network-info`: how the service saw the caller.
fn network_info(peer: Option<SocketAddr>, managed_hsm: bool) -> String {
    let (conn_type, family) = match (peer, managed_hsm) {
        (Some(SocketAddr::V6(_)), false) => ("Ipv6", "InterNetworkV6"),
        (Some(SocketAddr::V6(_)), true) => ("Ipv6", "Ipv6"),
        (_, false) => ("Ipv4", "InterNetwork"),
        (_, true) => ("Ipv4", "Ipv4"),
    };
    let addr = peer.map(|p| p.ip().to_string()).unwrap_or_default();
    format!("conn_type={conn_type};addr={addr};act_addr_fam={family};")
}

/// The headers each responder puts on its answers, as captured responses show them: a vault
/// (`Pragma`, `Expires: -1`, `x-ms-keyvault-service-version`, the client request id echoed,
/// `Date`), a Managed HSM (`Content-Security-Policy`, `X-Frame-Options`, `x-ms-server-latency`;
/// region and network info except on a 401), Entra. The admin API and IMDS add none.
fn service_headers(
    mut response: Response,
    req: &Request,
    kind: Listener,
    peer: Option<SocketAddr>,
) -> Response {
    if kind == Listener::Https && !is_admin_path(&req.path) {
        let request_id = crate::util::uuid();
        response = match host::classify(req.header("host")) {
            Host::Service(service) if service.managed_hsm => {
                let latency = req.received.elapsed().as_millis().to_string();
                response = response
                    .header("Cache-Control", "no-cache")
                    .header("Content-Security-Policy", "default-src 'self'")
                    .header(
                        "Strict-Transport-Security",
                        "max-age=31536000; includeSubDomains",
                    )
                    .header("X-Content-Type-Options", "nosniff")
                    .header("X-Frame-Options", "SAMEORIGIN");
                if response.status != 401 {
                    response = response
                        .header("x-ms-keyvault-network-info", &network_info(peer, true))
                        .header("x-ms-keyvault-region", "emulator");
                }
                response
                    .header("x-ms-request-id", &request_id)
                    .header("x-ms-server-latency", &latency)
            }
            Host::Service(_) => {
                response = response
                    .header("Cache-Control", "no-cache")
                    .header("Pragma", "no-cache")
                    .header("Expires", "-1")
                    .header(
                        "Strict-Transport-Security",
                        "max-age=31536000;includeSubDomains",
                    )
                    .header("X-Content-Type-Options", "nosniff");
                if let Some(id) = req.header("x-ms-client-request-id")
                    && id.len() <= 128
                    && id.bytes().all(|b| b.is_ascii_graphic())
                {
                    response = response.header("x-ms-client-request-id", id);
                }
                response
                    .header("x-ms-keyvault-network-info", &network_info(peer, false))
                    .header("x-ms-keyvault-region", "emulator")
                    .header("x-ms-keyvault-service-version", "1.9.2100.1")
                    .header("x-ms-request-id", &request_id)
                    .header("Date", &crate::util::http_date(crate::util::now()))
            }
            Host::Authority(_) => response
                .header("Cache-Control", "no-store, no-cache")
                .header("Pragma", "no-cache")
                .header("x-ms-request-id", &request_id),
            Host::Other(_) | Host::BadVaultName(_) => {
                response.header("x-ms-request-id", &request_id)
            }
        };
    }
    if req.wants_close() {
        response.close = true;
    }
    response
}

fn is_admin_path(path: &str) -> bool {
    path == "/_emulator" || path.starts_with("/_emulator/")
}

fn send<S: Transport>(
    conn: &mut Conn<S>,
    req: &Request,
    response: Response,
    kind: Listener,
) -> Next {
    let peer = conn.stream.socket().tcp().peer_addr().ok();
    let response = service_headers(response, req, kind, peer);
    match conn.send(&response, Some(req)) {
        Ok(()) if response.close => Next::Close,
        Ok(()) => Next::KeepAlive,
        Err(_) => Next::Drop,
    }
}

fn exchange<S: Transport>(
    shared: &Shared,
    conn: &mut Conn<S>,
    req: &mut Request,
    kind: Listener,
    counted: &mut bool,
) -> Next {
    let plan = match kind {
        Listener::Https => plan_https(shared, req),
        Listener::Imds => plan_imds(shared, req),
    };
    if !plan.admin && kind == Listener::Https && !*counted {
        *counted = true;
        shared.stats.count_connection();
    }
    let handler = match plan.action {
        Ok(handler) => handler,
        Err(response) => return answer_unread(conn, req, response, kind),
    };

    if let BodyKind::Length(n) = req.body_kind
        && n > MAX_BODY
    {
        return too_large(conn, req, kind);
    }
    if req.expects_continue()
        && req.has_body()
        && conn.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").is_err()
    {
        return Next::Drop;
    }
    match conn.read_body(req, MAX_BODY) {
        Ok(()) => {}
        Err(BodyError::TooLarge) => return too_large(conn, req, kind),
        Err(BodyError::Bad(message)) => {
            return send(conn, req, protocol_error(kind, 400, &message), kind);
        }
        Err(BodyError::Io) => return Next::Drop,
        Err(BodyError::Timeout) => {
            return send(conn, req, request_timeout(shared, kind), kind);
        }
    }

    if let Some(op) = plan.op {
        shared.stats.count(op);
        if let Some((delay, action)) = shared.faults.take(op) {
            if let Some(delay) = delay {
                std::thread::sleep(delay);
            }
            match action {
                FaultAction::Proceed => {}
                FaultAction::Drop => return Next::Drop,
                FaultAction::Garbage => {
                    let mut response = Response::new(200)
                        .header("Content-Type", "application/json; charset=utf-8");
                    response.body =
                        b"<html><body>upstream hiccup: this is not JSON</body></html>".to_vec();
                    return send(conn, req, response, kind);
                }
                FaultAction::Status {
                    status,
                    retry_after,
                } => {
                    let mut response = match &handler {
                        // A real 401 always carries the challenge: as if the token had expired.
                        Handler::Keys(service, _) if status == 401 => {
                            crate::auth::challenge(service, &crate::auth::Rejection::Expired)
                        }
                        _ => Response::json(status, &admin::fault_body(status, op == "token")),
                    };
                    if let Some(secs) = retry_after {
                        response = response.header("Retry-After", &secs.to_string());
                    }
                    return send(conn, req, response, kind);
                }
            }
        }
    }
    if plan.key_op && !shared.options.latency.is_zero() {
        std::thread::sleep(shared.options.latency);
    }
    let response = run(shared, handler, req);
    send(conn, req, response, kind)
}

/// Answers a request whose body was not read (rejected from its head). A small announced
/// body is then read and dropped so the connection stays usable; otherwise it is closed.
fn answer_unread<S: Transport>(
    conn: &mut Conn<S>,
    req: &mut Request,
    mut response: Response,
    kind: Listener,
) -> Next {
    let drainable = match req.body_kind {
        BodyKind::Empty => true,
        BodyKind::Length(n) => n <= MAX_BODY && !req.expects_continue(),
        BodyKind::Chunked => false,
    };
    if !drainable {
        response.close = true;
    }
    let next = send(conn, req, response, kind);
    if matches!(next, Next::KeepAlive) && req.has_body() && conn.read_body(req, MAX_BODY).is_err() {
        return Next::Drop;
    }
    next
}

fn too_large<S: Transport>(conn: &mut Conn<S>, req: &Request, kind: Listener) -> Next {
    let response = match kind {
        Listener::Https => ApiError::new(
            413,
            "RequestEntityTooLarge",
            "The request body is larger than 1 MiB.",
        )
        .response(),
        Listener::Imds => Response::json(
            413,
            &json!({"error": "invalid_request", "error_description": "The request body is larger than 1 MiB."}),
        ),
    };
    send(conn, req, response.closing(), kind)
}

fn run(shared: &Shared, handler: Handler, req: &Request) -> Response {
    match handler {
        Handler::Fixed(response) => response,
        Handler::Admin(AdminRoute::Stats) => Response::json(200, &shared.stats.json()),
        Handler::Admin(AdminRoute::ClearFaults) => {
            shared.faults.clear();
            Response::new(204)
        }
        Handler::Admin(AdminRoute::AddFaults) => {
            let parsed = serde_json::from_slice(&req.body)
                .map_err(|e| format!("the body is not JSON: {e}"))
                .and_then(|v| admin::parse_faults(&v));
            match parsed {
                Ok(faults) => {
                    shared.faults.add(faults);
                    Response::new(204)
                }
                Err(message) => ApiError::bad(message).response(),
            }
        }
        Handler::Keys(service, route) => Keys {
            store: &shared.store,
            service: &service,
        }
        .handle(route, req),
        Handler::Token(TokenRoute::Imds) => identity::imds(&shared.tokens, req),
        Handler::Token(TokenRoute::Arc) => identity::arc(&shared.tokens, req),
        Handler::Token(TokenRoute::AppService) => identity::app_service(&shared.tokens, req),
        Handler::Token(TokenRoute::Entra { tenant }) => {
            identity::entra(&shared.tokens, &tenant, req)
        }
    }
}

/// Wakes an accept loop blocked in `accept()` so it sees the shutdown flag.
pub fn wake(addr: SocketAddr) {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let _ = TcpStream::connect_timeout(&addr, Duration::from_secs(1));
}
