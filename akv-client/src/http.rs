//! HTTP (DESIGN §6.7): one keep-alive ureq agent per client and route, replaced in a forked
//! child, plus retries with backoff.
//!
//! Two routes: `Service` (Key Vault, Managed HSM and the Entra authority: `HTTPS_PROXY` /
//! `NO_PROXY` honoured, `connect_to` applied) and `Identity` (IMDS, App Service, Azure Arc:
//! never a proxy, never `connect_to`).
//!
//! Fork safety: each agent is per process ([`crate::fork::PerProcess`]); a forked child
//! builds its own and never uses, closes or shuts down the parent's connections.

use std::io::Read;
use std::net::ToSocketAddrs;
use std::time::{Duration, Instant};

use ureq::Agent;
use ureq::http::Uri;
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

use crate::config::Config;
use crate::error::Error;
use crate::fork::PerProcess;
use crate::keyid::{Cloud, printable};

/// Where the system's trust anchors are, first found wins (Debian/Ubuntu, Fedora/RHEL,
/// openSUSE, Alpine/others).
const SYSTEM_CA_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// Largest response body read.
const MAX_BODY: u64 = 1 << 20;
/// Backoff for the first retry; doubled each time, with jitter, capped.
const BACKOFF_BASE: Duration = Duration::from_millis(400);
const BACKOFF_MAX: Duration = Duration::from_secs(8);
/// IMDS answers 404 while it starts, 429 and 5xx: Azure documents 5 retries with exponential
/// backoff, whatever the service's retry budget.
const IMDS_MIN_RETRIES: u32 = 5;
/// IMDS answers 410 while it is being updated, and Azure says to keep retrying for at least
/// 70 s: as MSAL does, every 10 s, 7 times.
const IMDS_GONE_INTERVAL: Duration = Duration::from_secs(10);
const IMDS_GONE_RETRIES: u32 = 7;
/// Longest `Retry-After` honoured (also never more than the request timeout).
const RETRY_AFTER_MAX: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Key Vault, Managed HSM, Entra: proxy and `connect_to` apply.
    Service,
    /// IMDS, App Service, Azure Arc: direct, always.
    Identity,
}

/// Which statuses are worth retrying.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryPolicy {
    /// 408, 429 and 5xx.
    Service,
    /// IMDS as Azure documents it: 404, 410, 429 and 5xx.
    Imds,
    /// Nothing is retried.
    Never,
    /// IMDS probed by the `default` chain: statuses as `Imds`, but a failed connection is
    /// not retried (no IMDS here: move on to the next credential).
    ImdsProbe,
}

impl RetryPolicy {
    fn retries_status(self, status: u16) -> bool {
        match self {
            RetryPolicy::Service => status == 408 || status == 429 || status >= 500,
            RetryPolicy::Imds | RetryPolicy::ImdsProbe => {
                matches!(status, 404 | 410 | 429) || status >= 500
            }
            RetryPolicy::Never => false,
        }
    }
}

/// One request. Headers may hold secrets: nothing here is ever logged but the method and URL.
pub struct Request<'a> {
    pub method: &'static str,
    pub url: &'a str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<Vec<u8>>,
    pub route: Route,
    pub retry: RetryPolicy,
    /// Bounds the TCP connect only (a quick IMDS probe); the configured timeout still
    /// bounds the whole request.
    pub connect_timeout: Option<Duration>,
}

impl<'a> Request<'a> {
    pub fn get(url: &'a str, route: Route) -> Request<'a> {
        Request {
            method: "GET",
            url,
            headers: Vec::new(),
            body: None,
            route,
            retry: RetryPolicy::Service,
            connect_timeout: None,
        }
    }

    pub fn post(url: &'a str, route: Route, content_type: &str, body: Vec<u8>) -> Request<'a> {
        Request {
            method: "POST",
            url,
            headers: vec![("content-type", content_type.to_string())],
            body: Some(body),
            route,
            retry: RetryPolicy::Service,
            connect_timeout: None,
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Request<'a> {
        self.headers.push((name, value.into()));
        self
    }

    pub fn retry(mut self, policy: RetryPolicy) -> Request<'a> {
        self.retry = policy;
        self
    }

    pub fn connect_timeout(mut self, timeout: Duration) -> Request<'a> {
        self.connect_timeout = Some(timeout);
        self
    }
}

/// A response with the parts the client reads.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub request_id: Option<String>,
    pub www_authenticate: Option<String>,
    pub retry_after: Option<Duration>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The HTTP side of a client.
pub struct Http {
    timeout: Duration,
    max_retries: u32,
    ca_file: Option<std::path::PathBuf>,
    connect_to: Option<String>,
    /// Entra host that `connect_to` also redirects (lower case, no port).
    authority_host: Option<String>,
    https_proxy: Option<crate::config::Secret>,
    no_proxy: Option<String>,
    /// `IMDS_GONE_INTERVAL`; shorter in tests.
    imds_gone_interval: Duration,
    service: PerProcess<Agent>,
    identity: PerProcess<Agent>,
}

impl Http {
    pub fn new(config: &Config) -> Http {
        let authority_host = url::Url::parse(&config.authority_host)
            .ok()
            .and_then(|u| u.host_str().map(|h| h.to_ascii_lowercase()));
        Http {
            timeout: config.timeout,
            max_retries: config.max_retries,
            ca_file: config.ca_file.clone(),
            connect_to: config.connect_to.clone(),
            authority_host,
            https_proxy: config.https_proxy.clone(),
            no_proxy: config.no_proxy.clone(),
            imds_gone_interval: IMDS_GONE_INTERVAL,
            service: PerProcess::new(),
            identity: PerProcess::new(),
        }
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Tests prove the 410 schedule against the emulator without waiting 70 s.
    #[cfg(test)]
    pub(crate) fn with_imds_gone_interval(mut self, interval: Duration) -> Http {
        self.imds_gone_interval = interval;
        self
    }

    fn agent(&self, route: Route) -> Result<&Agent, Error> {
        // In a forked child the parent's agent is never used, closed or shut down.
        let slot = match route {
            Route::Service => &self.service,
            Route::Identity => &self.identity,
        };
        slot.get_or_try_init(|_| self.build_agent(route))
    }

    fn service_proxy(&self) -> Result<Option<ureq::Proxy>, Error> {
        let Some(proxy) = &self.https_proxy else {
            return Ok(None);
        };
        ureq::Proxy::new(proxy.expose())
            .map(Some)
            .map_err(|_| Error::Config {
                setting: "https_proxy".into(),
                reason: "is not an http:// or https:// proxy URL".into(),
            })
    }

    /// `host:port` of the proxy `req` goes through, if any (never its user or password).
    fn proxy_for(&self, req: &Request<'_>) -> Option<String> {
        let proxy = self.https_proxy.as_ref()?;
        if req.route != Route::Service || self.bypasses_proxy(req.url) {
            return None;
        }
        let url = crate::config::proxy_url(proxy.expose())?;
        let host = url.host_str()?;
        Some(match url.port_or_known_default() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        })
    }

    /// Whether a service-route request to `url` must skip the proxy (`no_proxy`).
    fn bypasses_proxy(&self, url: &str) -> bool {
        match (&self.https_proxy, &self.no_proxy) {
            (Some(_), Some(no_proxy)) => url::Url::parse(url)
                .ok()
                .and_then(|u| {
                    u.host_str()
                        .map(|h| crate::config::bypasses_proxy(no_proxy, h))
                })
                .unwrap_or(false),
            _ => false,
        }
    }

    fn build_agent(&self, route: Route) -> Result<Agent, Error> {
        let roots = load_roots(self.ca_file.as_deref())?;
        let tls = TlsConfig::builder()
            .root_certs(RootCerts::new_with_certs(&roots))
            .build();
        let (proxy, resolver) = match route {
            Route::Service => (
                self.service_proxy()?,
                ConnectToResolver {
                    connect_to: self.connect_to.clone(),
                    authority_host: self.authority_host.clone(),
                },
            ),
            Route::Identity => (
                None,
                ConnectToResolver {
                    connect_to: None,
                    authority_host: None,
                },
            ),
        };
        let config = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(self.timeout))
            // ureq keeps 3 idle connections per host by default: fewer than the threads of
            // a busy server, which would then reconnect all the time.
            .max_idle_connections(256)
            .max_idle_connections_per_host(256)
            .max_idle_age(Duration::from_secs(60))
            .user_agent(concat!("akv-client/", env!("CARGO_PKG_VERSION")))
            .proxy(proxy)
            .tls_config(tls)
            .build();
        Ok(Agent::with_parts(
            config,
            DefaultConnector::default(),
            resolver,
        ))
    }

    /// The longest `send` can take with every retry: bounds how long a thread waits for
    /// another's token refresh.
    pub fn longest_send(&self) -> Duration {
        let service = self.timeout * (self.max_retries + 1)
            + RETRY_AFTER_MAX.min(self.timeout) * self.max_retries;
        let imds_gone =
            self.timeout * (IMDS_GONE_RETRIES + 1) + self.imds_gone_interval * IMDS_GONE_RETRIES;
        service.max(imds_gone)
    }

    /// Sends `req`, retrying transient failures as its policy says (see [`Http::retry_delay`]).
    /// A retryable status still failing after the last retry is returned as a response.
    pub fn send(&self, req: &Request<'_>) -> Result<Response, Error> {
        let agent = self.agent(req.route)?;
        let mut attempt = 0u32;
        loop {
            let started = Instant::now();
            let result = self.send_once(agent, req);
            let elapsed_ms = started.elapsed().as_millis() as u64;
            let delay = match &result {
                Ok(resp) => {
                    tracing::trace!(
                        method = req.method,
                        url = req.url,
                        status = resp.status,
                        elapsed_ms,
                        request_id = resp.request_id.as_deref().unwrap_or(""),
                        "http"
                    );
                    self.retry_delay(req.retry, Attempt::Answered(resp), attempt)
                }
                Err(e) => {
                    tracing::debug!(method = req.method, url = req.url, error = %e, elapsed_ms, "http request failed");
                    self.retry_delay(req.retry, Attempt::Failed(e), attempt)
                }
            };
            let Some(delay) = delay else {
                return result.map_err(|e| {
                    let mut notes = Vec::new();
                    if let Some(proxy) = self.proxy_for(req) {
                        notes.push(format!("through the proxy {proxy}"));
                    }
                    if attempt > 0 {
                        notes.push(format!("{} attempts", attempt + 1));
                    }
                    let mut message = describe(&e, self.timeout, req.connect_timeout);
                    if !notes.is_empty() {
                        message.push_str(&format!(" ({})", notes.join("; ")));
                    }
                    Error::Transport {
                        host: host_of(req.url),
                        message,
                    }
                });
            };
            tracing::info!(
                method = req.method,
                url = req.url,
                retry = attempt + 1,
                delay_ms = delay.as_millis() as u64,
                "retrying"
            );
            std::thread::sleep(delay);
            attempt += 1;
        }
    }

    /// The pause before retry number `attempt + 1` of a request with `policy`, or `None` when
    /// it is not retried again:
    /// - `Service`: 408, 429, 5xx and connection failures, `max_retries` times, exponential
    ///   backoff with jitter from 0.4 s, or the server's `Retry-After`, capped at
    ///   min(30 s, timeout);
    /// - `Imds`: 404, 429 and 5xx the same way but at least 5 times; 410 ("IMDS is being
    ///   updated") every 10 s until 7 retries (70 s), as Azure documents;
    /// - `ImdsProbe`: as `Imds`, but a failed connection is final (no IMDS here);
    /// - `Never`: nothing.
    fn retry_delay(
        &self,
        policy: RetryPolicy,
        attempt_result: Attempt<'_>,
        attempt: u32,
    ) -> Option<Duration> {
        let imds = matches!(policy, RetryPolicy::Imds | RetryPolicy::ImdsProbe);
        let budget = match policy {
            RetryPolicy::Never => 0,
            RetryPolicy::Imds | RetryPolicy::ImdsProbe => self.max_retries.max(IMDS_MIN_RETRIES),
            RetryPolicy::Service => self.max_retries,
        };
        let capped = |d: Duration| d.min(RETRY_AFTER_MAX).min(self.timeout);
        match attempt_result {
            Attempt::Answered(resp) if !policy.retries_status(resp.status) => None,
            Attempt::Answered(resp) if imds && resp.status == 410 => {
                (attempt < IMDS_GONE_RETRIES).then_some(self.imds_gone_interval)
            }
            Attempt::Answered(resp) => (attempt < budget)
                .then(|| capped(resp.retry_after.unwrap_or_else(|| backoff(attempt)))),
            Attempt::Failed(e) => {
                (policy != RetryPolicy::ImdsProbe && is_retryable(e) && attempt < budget)
                    .then(|| capped(backoff(attempt)))
            }
        }
    }

    fn send_once(&self, agent: &Agent, req: &Request<'_>) -> Result<Response, ureq::Error> {
        let mut builder = ureq::http::Request::builder()
            .method(req.method)
            .uri(req.url);
        for (name, value) in &req.headers {
            builder = builder.header(*name, value.as_str());
        }
        let direct = req.route == Route::Service && self.bypasses_proxy(req.url);
        let mut response = match &req.body {
            Some(body) => run(agent, builder.body(body.as_slice())?, req, direct)?,
            None => run(agent, builder.body(())?, req, direct)?,
        };
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let request_id = header("x-ms-request-id");
        let www_authenticate = header("www-authenticate");
        let retry_after = parse_retry_after(
            header("retry-after-ms").as_deref(),
            header("x-ms-retry-after-ms").as_deref(),
            header("retry-after").as_deref(),
        );
        let status = response.status().as_u16();
        let mut body = Vec::new();
        response
            .body_mut()
            .as_reader()
            .take(MAX_BODY)
            .read_to_end(&mut body)?;
        Ok(Response {
            status,
            request_id,
            www_authenticate,
            retry_after,
            body,
        })
    }
}

/// How one attempt ended.
enum Attempt<'a> {
    Answered(&'a Response),
    Failed(&'a ureq::Error),
}

/// Runs one request with its per-request settings: a connect timeout, no proxy.
fn run<B: ureq::AsSendBody>(
    agent: &Agent,
    request: ureq::http::Request<B>,
    req: &Request<'_>,
    direct: bool,
) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
    use ureq::RequestExt;
    let request = request.with_agent(agent);
    if req.connect_timeout.is_none() && !direct {
        return request.run();
    }
    let mut config = request.configure();
    if let Some(t) = req.connect_timeout {
        config = config.timeout_connect(Some(t));
    }
    if direct {
        config = config.proxy(None);
    }
    config.run()
}

/// `retry-after-ms`, `x-ms-retry-after-ms` (milliseconds), then `Retry-After` (seconds; an
/// HTTP date is not parsed and falls back to the backoff).
fn parse_retry_after(ms: Option<&str>, x_ms: Option<&str>, secs: Option<&str>) -> Option<Duration> {
    if let Some(ms) = ms.or(x_ms).and_then(|v| v.trim().parse::<u64>().ok()) {
        return Some(Duration::from_millis(ms));
    }
    secs?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

/// Exponential backoff with ±25 % jitter: ~0.4 s, 0.8 s, 1.6 s, ... capped at 8 s.
pub fn backoff(attempt: u32) -> Duration {
    let base = BACKOFF_BASE
        .saturating_mul(1u32 << attempt.min(16))
        .min(BACKOFF_MAX);
    let jitter = 0.75 + 0.5 * random_unit();
    base.mul_f64(jitter)
}

/// A number in [0, 1) good enough for jitter (no `rand` dependency).
fn random_unit() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

fn is_retryable(e: &ureq::Error) -> bool {
    use ureq::Error as E;
    match e {
        // rustls reports a refused certificate or a failed handshake as InvalidData.
        E::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => false,
        E::Timeout(_) | E::Io(_) | E::ConnectionFailed | E::Protocol(_) => true,
        // DNS, TLS/certificate, bad URL, proxy configuration: retrying does not help.
        _ => false,
    }
}

/// One readable line for a transport failure.
fn describe(e: &ureq::Error, timeout: Duration, connect_timeout: Option<Duration>) -> String {
    use ureq::Error as E;
    if let (E::Timeout(ureq::Timeout::Connect), Some(t)) = (e, connect_timeout) {
        return format!("no connection within {} ms", t.as_millis());
    }
    match e {
        E::Timeout(_) => format!("timed out after {} ms", timeout.as_millis()),
        E::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused".into()
        }
        E::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => format!("TLS: {io}"),
        E::Io(io) => format!("connection failed: {io}"),
        E::HostNotFound => "host not found".into(),
        E::ConnectionFailed => "connection failed".into(),
        other => other.to_string(),
    }
}

pub fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_string(),
            })
        })
        .unwrap_or_else(|| printable(url))
}

/// The system trust anchors plus `ca_file`.
fn load_roots(ca_file: Option<&std::path::Path>) -> Result<Vec<Certificate<'static>>, Error> {
    let mut roots = Vec::new();
    if let Some(bundle) = SYSTEM_CA_BUNDLES.iter().find_map(|p| std::fs::read(p).ok()) {
        roots.extend(pem_certificates(&bundle));
    }
    if let Some(path) = ca_file {
        let bad = |reason: String| Error::Config {
            setting: "ca_file".into(),
            reason: format!("{}: {reason}", path.display()),
        };
        let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
        let extra = pem_certificates(&pem);
        if extra.is_empty() {
            return Err(bad("no PEM certificate in the file".into()));
        }
        roots.extend(extra);
    }
    Ok(roots)
}

fn pem_certificates(pem: &[u8]) -> Vec<Certificate<'static>> {
    ureq::tls::parse_pem(pem)
        .filter_map(|item| match item {
            Ok(PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect()
}

/// Resolves every name with a synchronous lookup (ureq's default resolver spawns a thread
/// per lookup when a timeout is set), and sends service and Entra hosts to `connect_to`
/// when set. SNI, Host header and certificate check stay the URL's: only the socket address
/// changes, as with `curl --connect-to`.
#[derive(Debug)]
struct ConnectToResolver {
    connect_to: Option<String>,
    authority_host: Option<String>,
}

impl ConnectToResolver {
    fn redirects(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        Cloud::is_service_host(&host)
            || self.authority_host.as_deref() == Some(host.as_str())
            || [Cloud::Public, Cloud::China, Cloud::UsGov]
                .iter()
                .any(|c| c.authority_host().strip_prefix("https://") == Some(host.as_str()))
    }
}

impl Resolver for ConnectToResolver {
    fn resolve(
        &self,
        uri: &Uri,
        _config: &ureq::config::Config,
        _timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let host = uri
            .host()
            .ok_or_else(|| ureq::Error::BadUri(format!("no host in {uri}")))?;
        let port = uri.port_u16().unwrap_or(match uri.scheme_str() {
            Some("http") => 80,
            _ => 443,
        });
        let target = match &self.connect_to {
            Some(to) if self.redirects(host) => to.clone(),
            _ => format!("{host}:{port}"),
        };
        let mut result = self.empty();
        for addr in target.to_socket_addrs()?.take(16) {
            result.push(addr);
        }
        if result.is_empty() {
            return Err(ureq::Error::HostNotFound);
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_to_redirects_only_service_and_entra_hosts() {
        let r = ConnectToResolver {
            connect_to: Some("127.0.0.1:1".into()),
            authority_host: Some("login.example.org".into()),
        };
        for host in [
            "myvault.vault.azure.net",
            "MyHsm.managedhsm.azure.net",
            "x1y.vault.usgovcloudapi.net",
            "login.microsoftonline.com",
            "login.chinacloudapi.cn",
            "login.example.org",
        ] {
            assert!(r.redirects(host), "{host}");
        }
        for host in [
            "169.254.169.254",
            "localhost",
            "proxy.corp.example",
            "vault.azure.net",
            "myvault.vault.azure.net.evil.com",
        ] {
            assert!(!r.redirects(host), "{host}");
        }
    }

    #[test]
    fn resolver_maps_to_connect_to_and_leaves_others() {
        let r = ConnectToResolver {
            connect_to: Some("127.0.0.1:4711".into()),
            authority_host: None,
        };
        let resolve = |url: &str| {
            r.resolve(
                &url.parse().unwrap(),
                &ureq::config::Config::default(),
                NextTimeout::default(),
            )
            .unwrap()
            .first()
            .copied()
            .unwrap()
        };
        assert_eq!(
            resolve("https://myvault.vault.azure.net/keys/k").to_string(),
            "127.0.0.1:4711"
        );
        assert_eq!(
            resolve("http://127.0.0.1:8080/x").to_string(),
            "127.0.0.1:8080"
        );
        assert_eq!(resolve("http://127.0.0.2/x").to_string(), "127.0.0.2:80");
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        for attempt in 0..4 {
            let d = backoff(attempt);
            let nominal = BACKOFF_BASE * (1 << attempt);
            assert!(
                d >= nominal.mul_f64(0.75) && d <= nominal.mul_f64(1.25),
                "{d:?}"
            );
        }
        assert!(backoff(30) <= BACKOFF_MAX.mul_f64(1.25));
    }

    #[test]
    fn retry_after_headers() {
        assert_eq!(
            parse_retry_after(None, None, Some("2")),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            parse_retry_after(Some("250"), None, Some("2")),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            parse_retry_after(None, Some("40"), None),
            Some(Duration::from_millis(40))
        );
        assert_eq!(
            parse_retry_after(None, None, Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            None
        );
        assert_eq!(parse_retry_after(None, None, Some("-1")), None);
    }

    #[test]
    fn retry_policies() {
        assert!(RetryPolicy::Service.retries_status(429));
        assert!(RetryPolicy::Service.retries_status(503));
        assert!(!RetryPolicy::Service.retries_status(404));
        assert!(!RetryPolicy::Service.retries_status(401));
        assert!(RetryPolicy::Imds.retries_status(404));
        assert!(RetryPolicy::Imds.retries_status(410));
        assert!(!RetryPolicy::Imds.retries_status(400));
        assert!(!RetryPolicy::Never.retries_status(503));
    }

    fn http(max_retries: u32, timeout: Duration) -> Http {
        Http::new(&Config {
            max_retries,
            timeout,
            ..Config::default()
        })
    }

    fn answered(status: u16, retry_after: Option<Duration>) -> Response {
        Response {
            status,
            request_id: None,
            www_authenticate: None,
            retry_after,
            body: Vec::new(),
        }
    }

    /// Every pause a request gets when each attempt ends the same way.
    fn schedule(http: &Http, policy: RetryPolicy, attempt: Attempt<'_>) -> Vec<Duration> {
        let again = |n| match attempt {
            Attempt::Answered(r) => http.retry_delay(policy, Attempt::Answered(r), n),
            Attempt::Failed(e) => http.retry_delay(policy, Attempt::Failed(e), n),
        };
        (0..100).map_while(again).collect()
    }

    #[test]
    fn imds_410_is_retried_every_10_s_for_70_s_whatever_the_retry_budget() {
        let gone = answered(410, None);
        for max_retries in [0, 3, 10] {
            // a short timeout does not shorten the 70 s either
            let http = http(max_retries, Duration::from_secs(1));
            for policy in [RetryPolicy::Imds, RetryPolicy::ImdsProbe] {
                let pauses = schedule(&http, policy, Attempt::Answered(&gone));
                assert_eq!(pauses, [Duration::from_secs(10); 7], "{policy:?}");
                assert_eq!(pauses.iter().sum::<Duration>(), Duration::from_secs(70));
            }
            // Only IMDS means "being updated" by 410.
            assert!(schedule(&http, RetryPolicy::Service, Attempt::Answered(&gone)).is_empty());
        }
    }

    #[test]
    fn imds_404_429_5xx_get_at_least_five_exponential_retries() {
        for (max_retries, expected) in [(0, 5), (3, 5), (8, 8)] {
            let http = http(max_retries, Duration::from_secs(30));
            for status in [404, 429, 500, 503] {
                let pauses = schedule(
                    &http,
                    RetryPolicy::Imds,
                    Attempt::Answered(&answered(status, None)),
                );
                assert_eq!(pauses.len(), expected, "{status}");
                for (n, pause) in pauses.iter().enumerate() {
                    let nominal = BACKOFF_BASE.saturating_mul(1 << n).min(BACKOFF_MAX);
                    assert!(*pause >= nominal.mul_f64(0.75) && *pause <= nominal.mul_f64(1.25));
                }
            }
            let refused = answered(400, None);
            assert!(schedule(&http, RetryPolicy::Imds, Attempt::Answered(&refused)).is_empty());
        }
    }

    #[test]
    fn service_retries_honour_max_retries_and_a_capped_retry_after() {
        let http = http(3, Duration::from_secs(5));
        let throttled = answered(429, Some(Duration::from_secs(2)));
        let pauses = schedule(&http, RetryPolicy::Service, Attempt::Answered(&throttled));
        assert_eq!(pauses, [Duration::from_secs(2); 3]);
        // Retry-After is believed up to the timeout
        let long = answered(429, Some(Duration::from_secs(600)));
        let pauses = schedule(&http, RetryPolicy::Service, Attempt::Answered(&long));
        assert_eq!(pauses, [Duration::from_secs(5); 3]);
        let unavailable = answered(503, None);
        assert_eq!(
            schedule(&http, RetryPolicy::Service, Attempt::Answered(&unavailable)).len(),
            3
        );
        assert!(schedule(&http, RetryPolicy::Never, Attempt::Answered(&unavailable)).is_empty());
        assert!(
            schedule(
                &http,
                RetryPolicy::Service,
                Attempt::Answered(&answered(404, None))
            )
            .is_empty()
        );
        let no_retries = Http::new(&Config {
            max_retries: 0,
            ..Config::default()
        });
        assert!(
            schedule(
                &no_retries,
                RetryPolicy::Service,
                Attempt::Answered(&unavailable)
            )
            .is_empty()
        );
    }

    #[test]
    fn connection_failures_are_retried_except_when_probing_imds() {
        let http = http(2, Duration::from_secs(5));
        let refused = ureq::Error::Io(std::io::ErrorKind::ConnectionRefused.into());
        assert_eq!(
            schedule(&http, RetryPolicy::Service, Attempt::Failed(&refused)).len(),
            2
        );
        assert_eq!(
            schedule(&http, RetryPolicy::Imds, Attempt::Failed(&refused)).len(),
            5
        );
        assert!(schedule(&http, RetryPolicy::ImdsProbe, Attempt::Failed(&refused)).is_empty());
        assert!(schedule(&http, RetryPolicy::Never, Attempt::Failed(&refused)).is_empty());
        // a refused certificate does not get better by retrying
        let tls = ureq::Error::Io(std::io::ErrorKind::InvalidData.into());
        assert!(schedule(&http, RetryPolicy::Service, Attempt::Failed(&tls)).is_empty());
    }

    #[test]
    fn the_longest_send_covers_imds_70_s_of_410() {
        let http = http(3, Duration::from_secs(10));
        assert!(http.longest_send() >= Duration::from_secs(70 + 8 * 10));
    }

    #[test]
    fn missing_or_empty_ca_file_is_a_config_error() {
        let err = load_roots(Some(std::path::Path::new("/nonexistent/ca.pem"))).unwrap_err();
        assert!(err.to_string().contains("ca_file"), "{err}");
        let empty = std::env::temp_dir().join(format!("akv-empty-ca-{}.pem", std::process::id()));
        std::fs::write(&empty, "not a certificate").unwrap();
        let err = load_roots(Some(&empty)).unwrap_err();
        assert!(err.to_string().contains("no PEM certificate"), "{err}");
        std::fs::remove_file(&empty).unwrap();
    }
}
