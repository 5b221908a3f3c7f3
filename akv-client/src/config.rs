//! Settings (DESIGN §4): from the environment and from a key/value map that the provider fills
//! from its openssl.cnf section. The environment wins.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::Error;
use crate::keyid::{Cloud, printable};

/// Which credential to use (`credential` / `AKV_CREDENTIAL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CredentialKind {
    /// The chain: static token → client secret → workload identity → managed identity → Azure CLI.
    #[default]
    Default,
    ManagedIdentity,
    WorkloadIdentity,
    ClientSecret,
    AzureCli,
    AccessToken,
}

impl CredentialKind {
    /// Parses the DESIGN §4 names (`default`, `managed_identity`, ...; `-` and `_` alike,
    /// case-insensitive).
    pub fn parse(s: &str) -> Option<CredentialKind> {
        let norm = s.trim().to_ascii_lowercase().replace('-', "_");
        Some(match norm.as_str() {
            "default" => CredentialKind::Default,
            "managed_identity" => CredentialKind::ManagedIdentity,
            "workload_identity" => CredentialKind::WorkloadIdentity,
            "client_secret" => CredentialKind::ClientSecret,
            "azure_cli" => CredentialKind::AzureCli,
            "access_token" => CredentialKind::AccessToken,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::Default => "default",
            CredentialKind::ManagedIdentity => "managed_identity",
            CredentialKind::WorkloadIdentity => "workload_identity",
            CredentialKind::ClientSecret => "client_secret",
            CredentialKind::AzureCli => "azure_cli",
            CredentialKind::AccessToken => "access_token",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum LogLevel {
    Off,
    Error,
    #[default]
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    pub fn parse(s: &str) -> Option<LogLevel> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "off" | "none" | "0" => LogLevel::Off,
            "error" => LogLevel::Error,
            "warn" | "warning" => LogLevel::Warn,
            "info" => LogLevel::Info,
            "debug" => LogLevel::Debug,
            "trace" => LogLevel::Trace,
            _ => return None,
        })
    }
}

/// A secret (client secret, static token, App Service identity header). Its `Debug` prints
/// `<redacted>`, so a `Config` or an error can never leak it by formatting.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where Azure Arc's agent writes its challenge files on Linux.
pub const DEFAULT_ARC_TOKEN_DIR: &str = "/var/opt/azcmagent/tokens";
/// The IMDS base URL on every Azure VM.
pub const DEFAULT_IMDS_ENDPOINT: &str = "http://169.254.169.254";
pub const DEFAULT_API_VERSION: &str = "7.5";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(10_000);
pub const DEFAULT_MAX_RETRIES: u32 = 3;

/// Every setting of DESIGN §4, plus the standard Azure variables the credentials read.
///
/// `Debug` never prints a secret or a token.
#[derive(Clone)]
pub struct Config {
    pub cloud: Cloud,
    pub api_version: String,
    pub credential: CredentialKind,
    pub client_id: Option<String>,
    pub tenant_id: Option<String>,
    pub timeout: Duration,
    pub max_retries: u32,
    pub log_level: LogLevel,
    pub log_file: Option<PathBuf>,

    /// `AZURE_CLIENT_SECRET`
    pub client_secret: Option<Secret>,
    /// `client_secret_file` / `AKV_CLIENT_SECRET_FILE`: read at each token request.
    pub client_secret_file: Option<PathBuf>,
    /// `AKV_ACCESS_TOKEN`, else `AZURE_CLI_ACCESS_TOKEN`: a static bearer token.
    pub access_token: Option<Secret>,
    /// `access_token_file` / `AKV_ACCESS_TOKEN_FILE`: re-read when its token is due, so it can
    /// be rotated in place.
    pub access_token_file: Option<PathBuf>,
    /// `federated_token_file` / `AZURE_FEDERATED_TOKEN_FILE` (workload identity), re-read at
    /// each refresh.
    pub federated_token_file: Option<PathBuf>,
    /// `authority_host` / `AZURE_AUTHORITY_HOST`, no trailing slash; the cloud's by default.
    pub authority_host: String,
    /// `imds_endpoint` / `AZURE_POD_IDENTITY_AUTHORITY_HOST`: IMDS base URL.
    pub imds_endpoint: String,
    /// `IDENTITY_ENDPOINT` (App Service or Azure Arc).
    pub identity_endpoint: Option<String>,
    /// `IDENTITY_HEADER` (App Service).
    pub identity_header: Option<Secret>,
    /// `IMDS_ENDPOINT` (set with `IDENTITY_ENDPOINT` on Azure Arc).
    pub arc_imds_endpoint: Option<String>,
    /// Where Arc's challenge files must live: `AKV_ARC_TOKEN_DIR` (environment only, for
    /// tests), else `/var/opt/azcmagent/tokens`.
    pub arc_token_dir: PathBuf,
    /// `object_id` / `AKV_MANAGED_IDENTITY_OBJECT_ID`: user-assigned identity by object id.
    pub object_id: Option<String>,
    /// `msi_res_id` / `AKV_MANAGED_IDENTITY_RESOURCE_ID`: user-assigned identity by resource id.
    pub msi_res_id: Option<String>,
    /// The `az` program: `azure_cli_path` / `AKV_AZURE_CLI`, else `az` found on `PATH`.
    pub azure_cli: Option<PathBuf>,
    /// `ca_file` / `AKV_CA_FILE`: extra PEM trust anchors, added to the system roots.
    pub ca_file: Option<PathBuf>,
    /// `connect_to` / `AKV_CONNECT_TO`: `host:port` every service and authority connection
    /// goes to.
    pub connect_to: Option<String>,
    /// `https_proxy` / `HTTPS_PROXY` (`https_proxy`, `ALL_PROXY`, `all_proxy`): an HTTP CONNECT
    /// proxy for the service and Entra, never for IMDS, App Service or Arc. A secret, as it
    /// may carry a password.
    pub https_proxy: Option<Secret>,
    /// `no_proxy` / `NO_PROXY` (`no_proxy`): comma-separated hosts or domains reached
    /// directly (`*` for all), as curl reads it.
    pub no_proxy: Option<String>,
}

impl Default for Config {
    /// The documented defaults, without reading the environment.
    fn default() -> Config {
        Config {
            cloud: Cloud::Public,
            api_version: DEFAULT_API_VERSION.into(),
            credential: CredentialKind::Default,
            client_id: None,
            tenant_id: None,
            timeout: DEFAULT_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
            log_level: LogLevel::Warn,
            log_file: None,
            client_secret: None,
            client_secret_file: None,
            access_token: None,
            access_token_file: None,
            federated_token_file: None,
            authority_host: Cloud::Public.authority_host().into(),
            imds_endpoint: DEFAULT_IMDS_ENDPOINT.into(),
            identity_endpoint: None,
            identity_header: None,
            arc_imds_endpoint: None,
            arc_token_dir: PathBuf::from(DEFAULT_ARC_TOKEN_DIR),
            object_id: None,
            msi_res_id: None,
            azure_cli: None,
            ca_file: None,
            connect_to: None,
            https_proxy: None,
            no_proxy: None,
        }
    }
}

/// The openssl.cnf keys this crate reads (any other key is ignored). The provider asks the core
/// for exactly these, so a key read below but missing here would be unreachable from
/// openssl.cnf: `from_map_and_lookup` checks each key it reads against this list.
pub const CONFIG_KEYS: &[&str] = &[
    "cloud",
    "api_version",
    "credential",
    "client_id",
    "tenant_id",
    "client_secret_file",
    "access_token_file",
    "federated_token_file",
    "authority_host",
    "imds_endpoint",
    "object_id",
    "msi_res_id",
    "azure_cli_path",
    "ca_file",
    "connect_to",
    "https_proxy",
    "no_proxy",
    "timeout_ms",
    "max_retries",
    "log_level",
    "log_file",
];

impl Config {
    /// Settings from the process environment alone.
    pub fn from_env() -> Result<Config, Error> {
        Config::from_map_and_env(&BTreeMap::new())
    }

    /// Settings from `map` (openssl.cnf keys of DESIGN §4: `cloud`, `api_version`, ...), with
    /// each environment variable overriding its key. Unknown keys are ignored; bad values are
    /// an error naming the setting.
    pub fn from_map_and_env(map: &BTreeMap<String, String>) -> Result<Config, Error> {
        Config::from_map_and_lookup(map, |name| std::env::var(name).ok())
    }

    /// As [`Config::from_map_and_env`] with an explicit environment lookup (for tests).
    pub fn from_map_and_lookup(
        map: &BTreeMap<String, String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, Error> {
        // An empty variable counts as unset, as in the Azure SDKs.
        let env = |name: &str| env(name).filter(|v| !v.is_empty());
        let map_get = |key: &str| {
            debug_assert!(CONFIG_KEYS.contains(&key), "'{key}' is not in CONFIG_KEYS");
            #[cfg(test)]
            tests::KEYS_READ.with(|read| read.borrow_mut().insert(key.to_string()));
            map.get(key)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        // The environment variable if set, else the openssl.cnf key.
        let get = |key: &str, var: &str| env(var).or_else(|| map_get(key));

        let mut c = Config::default();
        if let Some(v) = get("cloud", "AKV_CLOUD") {
            c.cloud = Cloud::parse(&v)?;
        }
        if let Some(v) = get("api_version", "AKV_API_VERSION") {
            c.api_version = parse_api_version(&v)?;
        }
        if let Some(v) = get("credential", "AKV_CREDENTIAL") {
            c.credential = CredentialKind::parse(&v).ok_or_else(|| {
                bad(
                    "credential",
                    format!(
                        "'{}' is not one of default, managed_identity, workload_identity, \
                         client_secret, azure_cli, access_token",
                        printable(&v)
                    ),
                )
            })?;
        }
        c.client_id = get("client_id", "AZURE_CLIENT_ID");
        c.tenant_id = get("tenant_id", "AZURE_TENANT_ID");
        if let Some(t) = &c.tenant_id {
            check_tenant(t)?;
        }
        c.client_secret = env("AZURE_CLIENT_SECRET").map(Secret);
        c.client_secret_file =
            get("client_secret_file", "AKV_CLIENT_SECRET_FILE").map(PathBuf::from);
        c.access_token = env("AKV_ACCESS_TOKEN")
            .or_else(|| env("AZURE_CLI_ACCESS_TOKEN"))
            .map(|t| Secret(t.trim().to_string()));
        c.access_token_file = get("access_token_file", "AKV_ACCESS_TOKEN_FILE").map(PathBuf::from);
        c.federated_token_file =
            get("federated_token_file", "AZURE_FEDERATED_TOKEN_FILE").map(PathBuf::from);
        c.authority_host = match get("authority_host", "AZURE_AUTHORITY_HOST") {
            Some(v) => parse_base_url("authority_host", &v, true)?,
            None => c.cloud.authority_host().to_string(),
        };
        if let Some(v) = get("imds_endpoint", "AZURE_POD_IDENTITY_AUTHORITY_HOST") {
            c.imds_endpoint = parse_base_url("imds_endpoint", &v, false)?;
        }
        if let Some(v) = env("IDENTITY_ENDPOINT") {
            c.identity_endpoint = Some(parse_base_url("IDENTITY_ENDPOINT", &v, false)?);
        }
        c.identity_header = env("IDENTITY_HEADER").map(Secret);
        if let Some(v) = env("IMDS_ENDPOINT") {
            c.arc_imds_endpoint = Some(parse_base_url("IMDS_ENDPOINT", &v, false)?);
        }
        if let Some(v) = env("AKV_ARC_TOKEN_DIR") {
            c.arc_token_dir = PathBuf::from(v);
        }
        c.object_id = get("object_id", "AKV_MANAGED_IDENTITY_OBJECT_ID");
        c.msi_res_id = get("msi_res_id", "AKV_MANAGED_IDENTITY_RESOURCE_ID");
        c.azure_cli = match get("azure_cli_path", "AKV_AZURE_CLI") {
            Some(p) => Some(PathBuf::from(p)),
            None => env("PATH").and_then(|path| find_in_path(&path, "az")),
        };
        c.ca_file = get("ca_file", "AKV_CA_FILE").map(PathBuf::from);
        if let Some(v) = get("connect_to", "AKV_CONNECT_TO") {
            check_connect_to(&v)?;
            c.connect_to = Some(v);
        }
        let proxy = env("HTTPS_PROXY")
            .or_else(|| env("https_proxy"))
            .or_else(|| env("ALL_PROXY"))
            .or_else(|| env("all_proxy"))
            .or_else(|| map_get("https_proxy"));
        if let Some(v) = proxy {
            check_proxy(&v)?;
            c.https_proxy = Some(Secret(v));
        }
        c.no_proxy = env("NO_PROXY")
            .or_else(|| env("no_proxy"))
            .or_else(|| map_get("no_proxy"));
        if let Some(v) = get("timeout_ms", "AKV_TIMEOUT_MS") {
            let ms = parse_number("timeout_ms", &v)?;
            if ms == 0 || ms > 600_000 {
                return Err(bad(
                    "timeout_ms",
                    format!("{ms} is not between 1 and 600000"),
                ));
            }
            c.timeout = Duration::from_millis(ms);
        }
        if let Some(v) = get("max_retries", "AKV_MAX_RETRIES") {
            let n = parse_number("max_retries", &v)?;
            if n > 10 {
                return Err(bad("max_retries", format!("{n} is more than 10")));
            }
            c.max_retries = n as u32;
        }
        if let Some(v) = get("log_level", "AKV_LOG") {
            c.log_level = LogLevel::parse(&v).ok_or_else(|| {
                bad(
                    "log_level",
                    format!(
                        "'{}' is not one of off, error, warn, info, debug, trace",
                        printable(&v)
                    ),
                )
            })?;
        }
        c.log_file = get("log_file", "AKV_LOG_FILE").map(PathBuf::from);
        Ok(c)
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets print as <redacted> through `Secret`'s Debug; files and ids are not secret.
        f.debug_struct("Config")
            .field("cloud", &self.cloud)
            .field("api_version", &self.api_version)
            .field("credential", &self.credential)
            .field("client_id", &self.client_id)
            .field("tenant_id", &self.tenant_id)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("log_level", &self.log_level)
            .field("log_file", &self.log_file)
            .field("client_secret", &self.client_secret)
            .field("client_secret_file", &self.client_secret_file)
            .field("access_token", &self.access_token)
            .field("access_token_file", &self.access_token_file)
            .field("federated_token_file", &self.federated_token_file)
            .field("authority_host", &self.authority_host)
            .field("imds_endpoint", &self.imds_endpoint)
            .field("identity_endpoint", &self.identity_endpoint)
            .field("identity_header", &self.identity_header)
            .field("arc_imds_endpoint", &self.arc_imds_endpoint)
            .field("arc_token_dir", &self.arc_token_dir)
            .field("object_id", &self.object_id)
            .field("msi_res_id", &self.msi_res_id)
            .field("azure_cli", &self.azure_cli)
            .field("ca_file", &self.ca_file)
            .field("connect_to", &self.connect_to)
            .field("https_proxy", &self.https_proxy)
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

fn bad(setting: &str, reason: String) -> Error {
    Error::Config {
        setting: setting.into(),
        reason,
    }
}

fn parse_number(setting: &str, v: &str) -> Result<u64, Error> {
    v.trim()
        .parse::<u64>()
        .map_err(|_| bad(setting, format!("'{}' is not a whole number", printable(v))))
}

fn parse_api_version(v: &str) -> Result<String, Error> {
    // Goes into a query string: only what real api-versions use.
    let ok = !v.is_empty()
        && v.len() <= 32
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    if ok {
        Ok(v.to_string())
    } else {
        Err(bad(
            "api_version",
            format!(
                "'{}' is not an api-version such as 7.5 or 2025-07-01",
                printable(v)
            ),
        ))
    }
}

/// Whether `t` can be a tenant id: a GUID or a domain name. It goes into a URL path and onto
/// the Azure CLI's command line, so nothing else is accepted.
pub(crate) fn is_tenant_id(t: &str) -> bool {
    (1..=256).contains(&t.len())
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

fn check_tenant(t: &str) -> Result<(), Error> {
    if is_tenant_id(t) {
        Ok(())
    } else {
        Err(bad(
            "tenant_id",
            format!(
                "'{}' is not a tenant id (a GUID or domain name)",
                printable(t)
            ),
        ))
    }
}

/// An `http(s)://host[:port][/path]` base URL, without a trailing slash.
fn parse_base_url(setting: &str, v: &str, https_only: bool) -> Result<String, Error> {
    let url = url::Url::parse(v)
        .map_err(|e| bad(setting, format!("'{}' is not a URL ({e})", printable(v))))?;
    let scheme_ok = match url.scheme() {
        "https" => true,
        "http" => !https_only,
        _ => false,
    };
    if !scheme_ok || url.host_str().is_none() || url.query().is_some() {
        let want = if https_only { "https" } else { "http or https" };
        return Err(bad(
            setting,
            format!("'{}' is not an {want} URL without a query", printable(v)),
        ));
    }
    Ok(v.trim().trim_end_matches('/').to_string())
}

fn check_connect_to(v: &str) -> Result<(), Error> {
    let valid = v.rsplit_once(':').is_some_and(|(host, port)| {
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:".contains(&b))
            && port.parse::<u16>().is_ok_and(|p| p != 0)
    });
    if valid {
        Ok(())
    } else {
        Err(bad(
            "connect_to",
            format!("'{}' is not host:port", printable(v)),
        ))
    }
}

/// `[http://|https://][user[:password]@]host[:port]`; the error never echoes the value (it
/// may hold a password).
fn check_proxy(v: &str) -> Result<(), Error> {
    match proxy_url(v) {
        Some(_) => Ok(()),
        None => Err(bad(
            "https_proxy",
            "is not an http:// or https:// proxy URL".into(),
        )),
    }
}

/// A proxy setting as a URL (`http://` when it names no scheme), if it is an HTTP(S) one.
pub(crate) fn proxy_url(v: &str) -> Option<url::Url> {
    let with_scheme = if v.contains("://") {
        v.to_string()
    } else {
        format!("http://{v}")
    };
    url::Url::parse(&with_scheme).ok().filter(|u| {
        matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty())
    })
}

/// Whether `host` is to be reached without the proxy, by `no_proxy` as curl reads it:
/// `*`, or entries matching the host itself or a parent domain (`vault.azure.net` and
/// `.vault.azure.net` both match `x.vault.azure.net`).
pub fn bypasses_proxy(no_proxy: &str, host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    no_proxy.split(',').map(str::trim).any(|entry| {
        if entry == "*" {
            return true;
        }
        let entry = entry
            .trim_start_matches("*")
            .trim_start_matches('.')
            .to_ascii_lowercase();
        !entry.is_empty()
            && (host == entry
                || host
                    .strip_suffix(entry.as_str())
                    .is_some_and(|rest| rest.ends_with('.')))
    })
}

fn find_in_path(path: &str, program: &str) -> Option<PathBuf> {
    std::env::split_paths(path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        /// Every map key `from_map_and_lookup` read on this thread.
        pub(super) static KEYS_READ: std::cell::RefCell<std::collections::BTreeSet<String>> =
            Default::default();
    }

    #[test]
    fn config_keys_are_exactly_the_keys_read() {
        KEYS_READ.with(|read| read.borrow_mut().clear());
        Config::from_map_and_lookup(&BTreeMap::new(), |_| None).unwrap();
        let read: Vec<String> = KEYS_READ.with(|read| read.borrow().iter().cloned().collect());
        let mut listed: Vec<String> = CONFIG_KEYS.iter().map(|k| k.to_string()).collect();
        listed.sort();
        assert_eq!(read, listed);
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn config(pairs: &[(&str, &str)], env: &[(&str, &str)]) -> Result<Config, Error> {
        let env: BTreeMap<String, String> = map(env);
        Config::from_map_and_lookup(&map(pairs), |name| env.get(name).cloned())
    }

    #[test]
    fn defaults_without_any_setting() {
        let c = config(&[], &[]).unwrap();
        assert_eq!(c.cloud, Cloud::Public);
        assert_eq!(c.api_version, "7.5");
        assert_eq!(c.credential, CredentialKind::Default);
        assert_eq!(c.timeout, Duration::from_secs(10));
        assert_eq!(c.max_retries, 3);
        assert_eq!(c.log_level, LogLevel::Warn);
        assert_eq!(c.authority_host, "https://login.microsoftonline.com");
        assert_eq!(c.imds_endpoint, "http://169.254.169.254");
        assert_eq!(c.arc_token_dir, PathBuf::from("/var/opt/azcmagent/tokens"));
        assert!(c.connect_to.is_none() && c.ca_file.is_none() && c.access_token.is_none());
    }

    #[test]
    fn every_map_key_is_read() {
        let c = config(
            &[
                ("cloud", "usgov"),
                ("api_version", "7.6"),
                ("credential", "client_secret"),
                ("client_id", "cid"),
                ("tenant_id", "contoso.onmicrosoft.com"),
                ("client_secret_file", "/etc/akv/secret"),
                ("access_token_file", "/etc/akv/token"),
                ("federated_token_file", "/var/run/token"),
                ("imds_endpoint", "http://127.0.0.1:1234/"),
                ("object_id", "oid"),
                ("msi_res_id", "/subscriptions/x"),
                ("azure_cli_path", "/opt/az/bin/az"),
                ("ca_file", "/etc/akv/ca.pem"),
                ("connect_to", "127.0.0.1:8443"),
                ("timeout_ms", "2500"),
                ("max_retries", "0"),
                ("log_level", "trace"),
                ("log_file", "/var/log/akv.log"),
                ("some_unknown_key", "ignored"),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(c.cloud, Cloud::UsGov);
        assert_eq!(c.api_version, "7.6");
        assert_eq!(c.credential, CredentialKind::ClientSecret);
        assert_eq!(c.client_id.as_deref(), Some("cid"));
        assert_eq!(c.tenant_id.as_deref(), Some("contoso.onmicrosoft.com"));
        assert_eq!(
            c.client_secret_file.as_deref(),
            Some(Path::new("/etc/akv/secret"))
        );
        assert_eq!(
            c.access_token_file.as_deref(),
            Some(Path::new("/etc/akv/token"))
        );
        assert_eq!(
            c.federated_token_file.as_deref(),
            Some(Path::new("/var/run/token"))
        );
        // the cloud's authority host when none is given
        assert_eq!(c.authority_host, "https://login.microsoftonline.us");
        assert_eq!(c.imds_endpoint, "http://127.0.0.1:1234");
        assert_eq!(c.object_id.as_deref(), Some("oid"));
        assert_eq!(c.msi_res_id.as_deref(), Some("/subscriptions/x"));
        assert_eq!(c.azure_cli.as_deref(), Some(Path::new("/opt/az/bin/az")));
        assert_eq!(c.ca_file.as_deref(), Some(Path::new("/etc/akv/ca.pem")));
        assert_eq!(c.connect_to.as_deref(), Some("127.0.0.1:8443"));
        assert_eq!(c.timeout, Duration::from_millis(2500));
        assert_eq!(c.max_retries, 0);
        assert_eq!(c.log_level, LogLevel::Trace);
        assert_eq!(c.log_file.as_deref(), Some(Path::new("/var/log/akv.log")));
    }

    #[test]
    fn environment_wins_over_the_map() {
        let c = config(
            &[
                ("cloud", "china"),
                ("timeout_ms", "100"),
                ("credential", "azure_cli"),
                ("connect_to", "a:1"),
                ("log_level", "off"),
            ],
            &[
                ("AKV_CLOUD", "public"),
                ("AKV_TIMEOUT_MS", "200"),
                ("AKV_CREDENTIAL", "managed-identity"),
                ("AKV_CONNECT_TO", "b:2"),
                ("AKV_LOG", "debug"),
                ("AKV_MAX_RETRIES", "5"),
                ("AKV_API_VERSION", "2025-07-01"),
            ],
        )
        .unwrap();
        assert_eq!(c.cloud, Cloud::Public);
        assert_eq!(c.timeout, Duration::from_millis(200));
        assert_eq!(c.credential, CredentialKind::ManagedIdentity);
        assert_eq!(c.connect_to.as_deref(), Some("b:2"));
        assert_eq!(c.log_level, LogLevel::Debug);
        assert_eq!(c.max_retries, 5);
        assert_eq!(c.api_version, "2025-07-01");
    }

    #[test]
    fn azure_variables_keep_their_azure_meaning() {
        let c = config(
            &[],
            &[
                ("AZURE_CLIENT_ID", "app"),
                ("AZURE_TENANT_ID", "72f988bf-86f1-41af-91ab-2d7cd011db47"),
                ("AZURE_CLIENT_SECRET", "s3cr3t-value"),
                ("AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/token"),
                ("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.com/"),
                ("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:9"),
                (
                    "IDENTITY_ENDPOINT",
                    "http://localhost:40342/metadata/identity/oauth2/token",
                ),
                ("IDENTITY_HEADER", "hdr-secret"),
                ("IMDS_ENDPOINT", "http://localhost:40342"),
                ("AKV_ARC_TOKEN_DIR", "/tmp/arc"),
                ("AZURE_CLI_ACCESS_TOKEN", "cli-token"),
            ],
        )
        .unwrap();
        assert_eq!(c.client_secret.as_ref().unwrap().expose(), "s3cr3t-value");
        assert_eq!(c.authority_host, "https://login.microsoftonline.com");
        assert_eq!(c.imds_endpoint, "http://127.0.0.1:9");
        assert_eq!(
            c.identity_endpoint.as_deref(),
            Some("http://localhost:40342/metadata/identity/oauth2/token")
        );
        assert_eq!(c.identity_header.as_ref().unwrap().expose(), "hdr-secret");
        assert_eq!(
            c.arc_imds_endpoint.as_deref(),
            Some("http://localhost:40342")
        );
        assert_eq!(c.arc_token_dir, PathBuf::from("/tmp/arc"));
        assert_eq!(c.access_token.as_ref().unwrap().expose(), "cli-token");
        // AKV_ACCESS_TOKEN wins over the CLI's variable
        let c = config(
            &[],
            &[
                ("AKV_ACCESS_TOKEN", "akv-token"),
                ("AZURE_CLI_ACCESS_TOKEN", "cli-token"),
            ],
        )
        .unwrap();
        assert_eq!(c.access_token.unwrap().expose(), "akv-token");
    }

    #[test]
    fn arc_token_dir_is_environment_only() {
        let c = config(&[("arc_token_dir", "/tmp/evil")], &[]).unwrap();
        assert_eq!(c.arc_token_dir, PathBuf::from(DEFAULT_ARC_TOKEN_DIR));
    }

    #[test]
    fn az_is_found_on_path() {
        let dir = std::env::temp_dir().join(format!("akv-config-az-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let az = dir.join("az");
        std::fs::write(&az, "#!/bin/sh\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = format!("/nonexistent:{}", dir.display());
        let c = config(&[], &[("PATH", &path)]).unwrap();
        assert_eq!(c.azure_cli.as_deref(), Some(az.as_path()));
        let c = config(&[], &[("PATH", "/nonexistent")]).unwrap();
        assert!(c.azure_cli.is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_values_name_the_setting() {
        let cases: &[(&str, &str, &str)] = &[
            ("cloud", "mars", "cloud"),
            ("credential", "password", "credential"),
            ("timeout_ms", "ten", "timeout_ms"),
            ("timeout_ms", "0", "timeout_ms"),
            ("max_retries", "-1", "max_retries"),
            ("max_retries", "99", "max_retries"),
            ("log_level", "loud", "log_level"),
            ("connect_to", "no-port", "connect_to"),
            ("connect_to", "host:99999", "connect_to"),
            ("connect_to", "ho/st:1", "connect_to"),
            ("api_version", "7.5&x=1", "api_version"),
            ("tenant_id", "../evil", "tenant_id"),
            ("imds_endpoint", "ftp://x", "imds_endpoint"),
            ("authority_host", "http://login.example", "authority_host"),
        ];
        for (key, value, setting) in cases {
            let err = config(&[(key, value)], &[]).expect_err(key);
            match &err {
                Error::Config { setting: s, .. } => assert_eq!(s, setting, "{key}={value}"),
                other => panic!("{key}={value}: {other:?}"),
            }
            let text = err.to_string();
            assert!(text.contains(setting), "{text}");
        }
    }

    #[test]
    fn proxy_settings_and_no_proxy_matching() {
        let c = config(
            &[
                ("https_proxy", "http://cnf-proxy:3128"),
                ("no_proxy", "cnf"),
            ],
            &[("HTTPS_PROXY", "http://user:pw-secret@proxy.corp:8080")],
        )
        .unwrap();
        assert_eq!(
            c.https_proxy.as_ref().unwrap().expose(),
            "http://user:pw-secret@proxy.corp:8080"
        );
        assert_eq!(c.no_proxy.as_deref(), Some("cnf"));
        assert!(!format!("{c:?}").contains("pw-secret"));
        let c = config(&[], &[("all_proxy", "proxy:1"), ("NO_PROXY", "*")]).unwrap();
        assert_eq!(c.https_proxy.unwrap().expose(), "proxy:1");
        let err = config(&[], &[("HTTPS_PROXY", "socks5://u:pw-secret@h:1")]).unwrap_err();
        assert!(err.to_string().contains("https_proxy"), "{err}");
        assert!(!err.to_string().contains("pw-secret"), "{err}");

        assert!(bypasses_proxy("*", "x.vault.azure.net"));
        assert!(bypasses_proxy(".vault.azure.net", "x.vault.azure.net"));
        assert!(bypasses_proxy(
            "localhost, vault.azure.net",
            "X.Vault.Azure.Net"
        ));
        assert!(bypasses_proxy("*.azure.net", "x.vault.azure.net"));
        assert!(bypasses_proxy("x.vault.azure.net", "x.vault.azure.net"));
        assert!(!bypasses_proxy("vault.azure.net", "x.managedhsm.azure.net"));
        assert!(!bypasses_proxy("ault.azure.net", "x.vault.azure.net"));
        assert!(!bypasses_proxy("", "x.vault.azure.net"));
    }

    #[test]
    fn debug_never_prints_secrets() {
        let c = config(
            &[],
            &[
                ("AZURE_CLIENT_SECRET", "client-secret-value"),
                ("AKV_ACCESS_TOKEN", "eyJhbGciOiJub25lIn0.access-token-value"),
                ("IDENTITY_HEADER", "identity-header-value"),
            ],
        )
        .unwrap();
        let debug = format!("{c:?}");
        for secret in [
            "client-secret-value",
            "access-token-value",
            "identity-header-value",
        ] {
            assert!(!debug.contains(secret), "{debug}");
        }
        assert!(debug.contains("<redacted>"));
    }
}
