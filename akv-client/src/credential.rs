//! Azure credentials (DESIGN §4), each speaking its real protocol:
//! static token, client secret, workload identity, managed identity (IMDS, App Service,
//! Azure Arc) and the Azure CLI, plus the `default` chain over them.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::Value;

use crate::config::{Config, CredentialKind, Secret};
use crate::error::Error;
use crate::http::{Http, Request, RetryPolicy, Route};
use crate::keyid::printable;
use crate::token::{AccessToken, unix_now};

/// A static token that is not a JWT is re-read (from its file) this often.
const STATIC_TOKEN_REREAD: Duration = Duration::from_secs(300);
/// Largest Azure Arc challenge file accepted.
const ARC_KEY_FILE_MAX: u64 = 4096;
/// The Azure CLI gets this long to answer.
const AZURE_CLI_TIMEOUT: Duration = Duration::from_secs(10);
/// In the `default` chain IMDS is probed with this connect timeout, so a machine that is not
/// in Azure moves on quickly.
const IMDS_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Which user-assigned managed identity, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdentitySelector {
    SystemAssigned,
    ClientId(String),
    ObjectId(String),
    ResourceId(String),
}

impl IdentitySelector {
    fn from_config(config: &Config) -> IdentitySelector {
        if let Some(id) = &config.client_id {
            IdentitySelector::ClientId(id.clone())
        } else if let Some(id) = &config.object_id {
            IdentitySelector::ObjectId(id.clone())
        } else if let Some(id) = &config.msi_res_id {
            IdentitySelector::ResourceId(id.clone())
        } else {
            IdentitySelector::SystemAssigned
        }
    }

    /// The query parameter; App Service calls the resource id `mi_res_id`.
    fn query(&self, resource_id_param: &'static str) -> Option<(&'static str, &str)> {
        match self {
            IdentitySelector::SystemAssigned => None,
            IdentitySelector::ClientId(v) => Some(("client_id", v)),
            IdentitySelector::ObjectId(v) => Some(("object_id", v)),
            IdentitySelector::ResourceId(v) => Some((resource_id_param, v)),
        }
    }
}

/// Where a managed identity's tokens come from.
#[derive(Clone, Debug)]
pub enum ManagedIdentitySource {
    /// `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`
    AppService { endpoint: String, header: Secret },
    /// `IDENTITY_ENDPOINT` + `IMDS_ENDPOINT`, challenge files in `token_dir`
    AzureArc {
        endpoint: String,
        token_dir: PathBuf,
    },
    /// `<base>/metadata/identity/oauth2/token`
    Imds { base: String },
}

/// One way to get a token.
#[derive(Clone, Debug)]
pub enum Source {
    AccessToken {
        token: Option<Secret>,
        file: Option<PathBuf>,
    },
    ClientSecret {
        authority: String,
        tenant: String,
        client_id: String,
        secret: Option<Secret>,
        secret_file: Option<PathBuf>,
    },
    WorkloadIdentity {
        authority: String,
        tenant: String,
        client_id: String,
        token_file: PathBuf,
    },
    ManagedIdentity {
        source: ManagedIdentitySource,
        id: IdentitySelector,
    },
    AzureCli {
        program: PathBuf,
        tenant: Option<String>,
    },
}

impl Source {
    /// The name used in errors and logs (the DESIGN §4 `credential` value, or the managed
    /// identity flavour).
    pub fn name(&self) -> &'static str {
        match self {
            Source::AccessToken { .. } => "access_token",
            Source::ClientSecret { .. } => "client_secret",
            Source::WorkloadIdentity { .. } => "workload_identity",
            Source::ManagedIdentity { source, .. } => match source {
                ManagedIdentitySource::AppService { .. } => "managed_identity (App Service)",
                ManagedIdentitySource::AzureArc { .. } => "managed_identity (Azure Arc)",
                ManagedIdentitySource::Imds { .. } => "managed_identity (IMDS)",
            },
            Source::AzureCli { .. } => "azure_cli",
        }
    }
}

/// A credential: one source, or the `default` chain of them.
pub struct Credential {
    /// In order; `Err` holds why that source is not configured.
    candidates: Vec<(&'static str, Result<Source, String>)>,
    chain: bool,
    /// Index of the source that last worked (the chain sticks to it), or `usize::MAX`.
    chosen: AtomicUsize,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("candidates", &self.candidates)
            .field("chain", &self.chain)
            .finish()
    }
}

impl Credential {
    /// Builds the credential `config.credential` names. An explicitly chosen credential that
    /// lacks a setting is an error here; in the chain it is skipped (and reported if every
    /// source fails).
    pub fn from_config(config: &Config) -> Result<Credential, Error> {
        let chain = config.credential == CredentialKind::Default;
        let candidates: Vec<(&'static str, Result<Source, String>)> = match config.credential {
            CredentialKind::Default => vec![
                ("access_token", access_token(config)),
                ("client_secret", client_secret(config)),
                ("workload_identity", workload_identity(config)),
                ("managed_identity", managed_identity(config)),
                ("azure_cli", azure_cli(config)),
            ],
            CredentialKind::AccessToken => vec![("access_token", access_token(config))],
            CredentialKind::ClientSecret => vec![("client_secret", client_secret(config))],
            CredentialKind::WorkloadIdentity => {
                vec![("workload_identity", workload_identity(config))]
            }
            CredentialKind::ManagedIdentity => {
                vec![("managed_identity", managed_identity(config))]
            }
            CredentialKind::AzureCli => vec![("azure_cli", azure_cli(config))],
        };
        if !chain {
            if let (name, Err(reason)) = &candidates[0] {
                return Err(Error::Config {
                    setting: "credential".into(),
                    reason: format!("{name}: {reason}"),
                });
            }
        }
        Ok(Credential {
            candidates,
            chain,
            chosen: AtomicUsize::new(usize::MAX),
        })
    }

    /// The configured sources, in the order they are tried.
    pub fn sources(&self) -> impl Iterator<Item = &Source> {
        self.candidates.iter().filter_map(|(_, s)| s.as_ref().ok())
    }

    /// A new token for `audience` (e.g. `https://vault.azure.net`). The chain tries each
    /// configured source in order and remembers the first that works; if none does, the
    /// error lists every source with its reason.
    pub fn get_token(&self, http: &Http, audience: &str) -> Result<AccessToken, Error> {
        self.get_token_for_tenant(http, audience, None)
    }

    /// As [`Credential::get_token`], with the tenant the service named in its 401 challenge:
    /// a source that takes a tenant and has none configured (the Azure CLI) asks for a token
    /// of that tenant, as azure-identity does; a configured tenant always wins, and managed
    /// identities and static tokens have no say in it.
    pub fn get_token_for_tenant(
        &self,
        http: &Http,
        audience: &str,
        challenge_tenant: Option<&str>,
    ) -> Result<AccessToken, Error> {
        let fetch =
            |source: &Source, probing| fetch(source, http, audience, challenge_tenant, probing);
        let chosen = self.chosen.load(Ordering::Relaxed);
        if let Some((name, Ok(source))) = self.candidates.get(chosen) {
            return fetch(source, false).map_err(|no_token| Error::Credential {
                audience: audience.to_string(),
                attempts: vec![(source_label(name, source), no_token.why)],
            });
        }
        let mut attempts = Vec::new();
        for (index, (name, candidate)) in self.candidates.iter().enumerate() {
            match candidate {
                Ok(source) => match fetch(source, self.chain) {
                    Ok(token) => {
                        if self.chain {
                            tracing::info!(
                                credential = source.name(),
                                "credential chain: using this source"
                            );
                        }
                        self.chosen.store(index, Ordering::Relaxed);
                        return Ok(token);
                    }
                    Err(no_token) => {
                        let label = source_label(name, source);
                        tracing::debug!(credential = %label, reason = %no_token.why, "credential failed");
                        attempts.push((label.clone(), no_token.why));
                        if self.chain && !no_token.unavailable {
                            // As azure-identity's chain: a source that is there but fails
                            // stops it, rather than go on as another identity.
                            for (later, _) in &self.candidates[index + 1..] {
                                let why = format!("not tried: {label} is configured and failed");
                                attempts.push((later.to_string(), why));
                            }
                            break;
                        }
                    }
                },
                Err(why) => attempts.push((name.to_string(), why.clone())),
            }
        }
        Err(Error::Credential {
            audience: audience.to_string(),
            attempts,
        })
    }
}

fn source_label(name: &str, source: &Source) -> String {
    match source {
        Source::ManagedIdentity { .. } => source.name().to_string(),
        _ => name.to_string(),
    }
}

fn access_token(c: &Config) -> Result<Source, String> {
    if c.access_token.is_none() && c.access_token_file.is_none() {
        return Err(
            "not configured (AKV_ACCESS_TOKEN, AZURE_CLI_ACCESS_TOKEN or access_token_file)".into(),
        );
    }
    Ok(Source::AccessToken {
        token: c.access_token.clone(),
        file: c.access_token_file.clone(),
    })
}

fn client_secret(c: &Config) -> Result<Source, String> {
    let has_secret = c.client_secret.is_some() || c.client_secret_file.is_some();
    match (&c.tenant_id, &c.client_id, has_secret) {
        (Some(tenant), Some(client_id), true) => Ok(Source::ClientSecret {
            authority: c.authority_host.clone(),
            tenant: tenant.clone(),
            client_id: client_id.clone(),
            secret: c.client_secret.clone(),
            secret_file: c.client_secret_file.clone(),
        }),
        (tenant, client_id, _) => Err(not_configured(&[
            ("AZURE_TENANT_ID", tenant.is_some()),
            ("AZURE_CLIENT_ID", client_id.is_some()),
            ("AZURE_CLIENT_SECRET (or client_secret_file)", has_secret),
        ])),
    }
}

fn workload_identity(c: &Config) -> Result<Source, String> {
    match (&c.federated_token_file, &c.tenant_id, &c.client_id) {
        (Some(token_file), Some(tenant), Some(client_id)) => Ok(Source::WorkloadIdentity {
            authority: c.authority_host.clone(),
            tenant: tenant.clone(),
            client_id: client_id.clone(),
            token_file: token_file.clone(),
        }),
        (token_file, tenant, client_id) => Err(not_configured(&[
            ("AZURE_FEDERATED_TOKEN_FILE", token_file.is_some()),
            ("AZURE_TENANT_ID", tenant.is_some()),
            ("AZURE_CLIENT_ID", client_id.is_some()),
        ])),
    }
}

/// `not configured: A, B not set`, naming each `(setting, is set)` that is not.
fn not_configured(settings: &[(&str, bool)]) -> String {
    let missing: Vec<&str> = settings
        .iter()
        .filter(|(_, set)| !set)
        .map(|(name, _)| *name)
        .collect();
    format!("not configured: {} not set", missing.join(", "))
}

/// App Service when `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`, Azure Arc when
/// `IDENTITY_ENDPOINT` + `IMDS_ENDPOINT`, else IMDS (as MSAL decides).
fn managed_identity(c: &Config) -> Result<Source, String> {
    let id = IdentitySelector::from_config(c);
    let source = match (
        &c.identity_endpoint,
        &c.identity_header,
        &c.arc_imds_endpoint,
    ) {
        (Some(endpoint), Some(header), _) => ManagedIdentitySource::AppService {
            endpoint: endpoint.clone(),
            header: header.clone(),
        },
        (Some(endpoint), None, Some(_)) => {
            if id != IdentitySelector::SystemAssigned {
                return Err(
                    "Azure Arc supports only the system-assigned identity, but a user-assigned \
                     one is configured (client_id, object_id or msi_res_id)"
                        .into(),
                );
            }
            ManagedIdentitySource::AzureArc {
                endpoint: endpoint.clone(),
                token_dir: c.arc_token_dir.clone(),
            }
        }
        _ => ManagedIdentitySource::Imds {
            base: c.imds_endpoint.clone(),
        },
    };
    Ok(Source::ManagedIdentity { source, id })
}

fn azure_cli(c: &Config) -> Result<Source, String> {
    match &c.azure_cli {
        Some(program) => Ok(Source::AzureCli {
            program: program.clone(),
            tenant: c.tenant_id.clone(),
        }),
        None => Err("Azure CLI ('az') not found on PATH".into()),
    }
}

/// Why a source gave no token: a reason for a person (never a secret).
#[derive(Debug)]
struct NoToken {
    why: String,
    /// The source is not there (nothing answers at IMDS, no identity is assigned, the CLI
    /// is not logged in), as opposed to there and failing: the `default` chain goes on.
    unavailable: bool,
}

impl NoToken {
    fn unavailable(why: String) -> NoToken {
        NoToken {
            why,
            unavailable: true,
        }
    }
}

impl From<&str> for NoToken {
    fn from(why: &str) -> NoToken {
        why.to_string().into()
    }
}

impl From<String> for NoToken {
    fn from(why: String) -> NoToken {
        NoToken {
            why,
            unavailable: false,
        }
    }
}

/// One token from `source`.
fn fetch(
    source: &Source,
    http: &Http,
    audience: &str,
    challenge_tenant: Option<&str>,
    probing: bool,
) -> Result<AccessToken, NoToken> {
    let token = match source {
        Source::AccessToken { token, file } => static_token(token.as_ref(), file.as_deref()),
        Source::ClientSecret {
            authority,
            tenant,
            client_id,
            secret,
            secret_file,
        } => {
            let secret = match (secret, secret_file) {
                (Some(s), _) => s.clone(),
                (None, Some(path)) => Secret::new(read_small_file(path, "client secret file")?),
                (None, None) => return Err("no client secret".into()),
            };
            entra_token(
                http,
                authority,
                tenant,
                client_id,
                audience,
                EntraProof::Secret(&secret),
            )
        }
        Source::WorkloadIdentity {
            authority,
            tenant,
            client_id,
            token_file,
        } => {
            // Re-read on every refresh: the kubelet rotates the projected token.
            let assertion = Secret::new(read_small_file(token_file, "federated token file")?);
            entra_token(
                http,
                authority,
                tenant,
                client_id,
                audience,
                EntraProof::Assertion(&assertion),
            )
        }
        Source::ManagedIdentity { source, id } => match source {
            ManagedIdentitySource::Imds { base } => {
                return imds_token(http, base, id, audience, probing);
            }
            ManagedIdentitySource::AppService { endpoint, header } => {
                app_service_token(http, endpoint, header, id, audience)
            }
            ManagedIdentitySource::AzureArc {
                endpoint,
                token_dir,
            } => arc_token(http, endpoint, token_dir, audience),
        },
        Source::AzureCli { program, tenant } => {
            return azure_cli_token(program, tenant.as_deref().or(challenge_tenant), audience);
        }
    };
    Ok(token?)
}

fn static_token(token: Option<&Secret>, file: Option<&Path>) -> Result<AccessToken, String> {
    let value = match (token, file) {
        (Some(t), _) => t.expose().to_string(),
        (None, Some(path)) => read_small_file(path, "access token file")?,
        (None, None) => return Err("no token".into()),
    };
    if value.is_empty() {
        return Err("the static access token is empty".into());
    }
    match jwt_expiry(&value) {
        Some(exp) => {
            let now = unix_now();
            if exp <= now {
                return Err(format!(
                    "the static access token expired {} s ago",
                    now - exp
                ));
            }
            let token = AccessToken::expiring_on(value, exp);
            Ok(token.with_refresh_in(Some(STATIC_TOKEN_REREAD.as_secs())))
        }
        // Not a JWT: nothing says when it expires; re-read it from time to time.
        None => Ok(AccessToken::with_lifetime(value, STATIC_TOKEN_REREAD * 2)),
    }
}

/// `exp` of a JWT, if the token is one.
fn jwt_expiry(token: &str) -> Option<u64> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("exp")?.as_u64()
}

fn read_small_file(path: &Path, what: &str) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{what} {}: {e}", path.display()))?;
    if meta.len() > 64 * 1024 {
        return Err(format!("{what} {} is larger than 64 KiB", path.display()));
    }
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("{what} {}: {e}", path.display()))?;
    let text = text.trim().to_string();
    if text.is_empty() {
        return Err(format!("{what} {} is empty", path.display()));
    }
    Ok(text)
}

enum EntraProof<'a> {
    Secret(&'a Secret),
    Assertion(&'a Secret),
}

/// `POST <authority>/<tenant>/oauth2/v2.0/token` (client credentials grant).
fn entra_token(
    http: &Http,
    authority: &str,
    tenant: &str,
    client_id: &str,
    audience: &str,
    proof: EntraProof<'_>,
) -> Result<AccessToken, String> {
    let url = format!("{authority}/{tenant}/oauth2/v2.0/token");
    let scope = format!("{audience}/.default");
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "client_credentials")
        .append_pair("client_id", client_id)
        .append_pair("scope", &scope);
    match proof {
        EntraProof::Secret(secret) => {
            form.append_pair("client_secret", secret.expose());
        }
        EntraProof::Assertion(assertion) => {
            form.append_pair(
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            )
            .append_pair("client_assertion", assertion.expose());
        }
    }
    let body = form.finish().into_bytes();
    let req = Request::post(
        &url,
        Route::Service,
        "application/x-www-form-urlencoded",
        body,
    )
    .header("accept", "application/json");
    let resp = http.send(&req).map_err(|e| e.to_string())?;
    parse_token_response("Entra ID", resp.status, &resp.body)
}

/// `<endpoint>?api-version=<v>&resource=<audience>[&<selector>=<id>]`, the request of every
/// managed identity endpoint.
fn token_url(
    endpoint: &str,
    api_version: &str,
    audience: &str,
    selector: Option<(&str, &str)>,
) -> Result<String, String> {
    let mut url = url::Url::parse(endpoint)
        .map_err(|e| format!("bad token endpoint '{}': {e}", printable(endpoint)))?;
    let mut query = url.query_pairs_mut();
    query
        .append_pair("api-version", api_version)
        .append_pair("resource", audience);
    if let Some((name, value)) = selector {
        query.append_pair(name, value);
    }
    drop(query);
    Ok(url.into())
}

/// `GET <base>/metadata/identity/oauth2/token?api-version=2018-02-01&resource=...`
fn imds_token(
    http: &Http,
    base: &str,
    id: &IdentitySelector,
    audience: &str,
    probing: bool,
) -> Result<AccessToken, NoToken> {
    let url = token_url(
        &format!("{base}/metadata/identity/oauth2/token"),
        "2018-02-01",
        audience,
        id.query("msi_res_id"),
    )?;
    let mut req = Request::get(&url, Route::Identity)
        .header("metadata", "true")
        .retry(RetryPolicy::Imds);
    if probing {
        // In the chain, a machine without IMDS must not cost the full timeout and retries:
        // a quick connect, no retry of a failed connection. A slow answer is still waited for.
        req = req
            .connect_timeout(IMDS_PROBE_TIMEOUT.min(http.timeout()))
            .retry(RetryPolicy::ImdsProbe);
    }
    let resp = http.send(&req).map_err(|e| match e {
        Error::Transport { message, .. } => {
            NoToken::unavailable(format!("IMDS at {base} is unreachable: {message}"))
        }
        other => other.to_string().into(),
    })?;
    let token = parse_token_response("IMDS", resp.status, &resp.body);
    // IMDS answers 400 when no identity (or not the one asked for) is assigned.
    token.map_err(|why| match resp.status {
        400 => NoToken::unavailable(why),
        _ => why.into(),
    })
}

/// `GET <IDENTITY_ENDPOINT>?api-version=2019-08-01&resource=...` with `X-IDENTITY-HEADER`.
fn app_service_token(
    http: &Http,
    endpoint: &str,
    header: &Secret,
    id: &IdentitySelector,
    audience: &str,
) -> Result<AccessToken, String> {
    let url = token_url(endpoint, "2019-08-01", audience, id.query("mi_res_id"))?;
    let req = Request::get(&url, Route::Identity).header("x-identity-header", header.expose());
    let resp = http.send(&req).map_err(|e| e.to_string())?;
    parse_token_response("App Service identity endpoint", resp.status, &resp.body)
}

/// Azure Arc: a first request is answered 401 with `WWW-Authenticate: Basic realm=<file>`;
/// the file (a `.key` in the agent's token directory, readable only by the `himds` group)
/// proves local access and is sent back as `Authorization: Basic <contents>`.
fn arc_token(
    http: &Http,
    endpoint: &str,
    token_dir: &Path,
    audience: &str,
) -> Result<AccessToken, String> {
    let url = token_url(endpoint, "2020-06-01", audience, None)?;
    let first = http
        .send(&Request::get(&url, Route::Identity).header("metadata", "true"))
        .map_err(|e| e.to_string())?;
    if first.status != 401 {
        return Err(format!(
            "Azure Arc endpoint answered {} instead of the 401 challenge{}",
            first.status,
            error_detail(&first.body)
        ));
    }
    let challenge = first
        .www_authenticate
        .ok_or("Azure Arc endpoint sent 401 without a WWW-Authenticate challenge")?;
    let key_file = arc_challenge_file(&challenge, token_dir)?;
    let meta = std::fs::metadata(&key_file)
        .map_err(|e| format!("Azure Arc challenge file {}: {e}", key_file.display()))?;
    if !meta.is_file() || meta.len() > ARC_KEY_FILE_MAX {
        return Err(format!(
            "Azure Arc challenge file {} is not a regular file of at most {ARC_KEY_FILE_MAX} bytes",
            key_file.display()
        ));
    }
    let mut contents = String::new();
    std::fs::File::open(&key_file)
        .and_then(|f| f.take(ARC_KEY_FILE_MAX).read_to_string(&mut contents))
        .map_err(|e| format!("Azure Arc challenge file {}: {e}", key_file.display()))?;
    let proof = Secret::new(contents.trim().to_string());
    let second = http
        .send(
            &Request::get(&url, Route::Identity)
                .header("metadata", "true")
                .header("authorization", format!("Basic {}", proof.expose())),
        )
        .map_err(|e| e.to_string())?;
    parse_token_response("Azure Arc endpoint", second.status, &second.body)
}

/// The file named by `Basic realm=<path>`: only its base name is used, it must end in
/// `.key`, and it is looked up in `token_dir` (never where the server says).
pub fn arc_challenge_file(challenge: &str, token_dir: &Path) -> Result<PathBuf, String> {
    let realm = challenge
        .trim()
        .strip_prefix("Basic ")
        .or_else(|| challenge.trim().strip_prefix("basic "))
        .and_then(|rest| rest.trim().strip_prefix("realm="))
        .ok_or_else(|| {
            format!(
                "Azure Arc challenge '{}' is not 'Basic realm=<file>'",
                printable(challenge)
            )
        })?;
    let realm = realm.trim().trim_matches('"');
    let base = realm.rsplit(['/', '\\']).next().unwrap_or("");
    let valid = base.len() > 4
        && base.ends_with(".key")
        && base != ".key"
        && !base.starts_with('.')
        && base
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if !valid {
        return Err(format!(
            "Azure Arc challenge names '{}', not a <name>.key file",
            printable(realm)
        ));
    }
    Ok(token_dir.join(base))
}

/// `az account get-access-token --output json --resource <audience> [--tenant <id>]`
fn azure_cli_token(
    program: &Path,
    tenant: Option<&str>,
    audience: &str,
) -> Result<AccessToken, NoToken> {
    let mut cmd = Command::new(program);
    cmd.args([
        "account",
        "get-access-token",
        "--output",
        "json",
        "--resource",
        audience,
    ]);
    if let Some(t) = tenant {
        cmd.args(["--tenant", t]);
    }
    let (status, stdout, stderr) = run_with_deadline(cmd, AZURE_CLI_TIMEOUT)
        .map_err(|e| format!("'az account get-access-token': {e}"))?;
    let stderr = String::from_utf8_lossy(&stderr);
    if !status.success() {
        if stderr.contains("az login") || stderr.contains("az account set") {
            return Err(NoToken::unavailable(
                "Azure CLI is not logged in: run 'az login'".into(),
            ));
        }
        let first_line = stderr
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("no error output");
        return Err(format!(
            "'az account get-access-token' failed ({status}): {}",
            printable(first_line)
        )
        .into());
    }
    let json: Value = serde_json::from_slice(&stdout).map_err(|_| {
        "'az account get-access-token' printed something that is not JSON".to_string()
    })?;
    let token = json
        .get("accessToken")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or("'az account get-access-token' printed no accessToken")?
        .to_string();
    let expires_on = json
        .get("expires_on")
        .and_then(number_or_string)
        .or_else(|| {
            json.get("expiresOn")
                .and_then(Value::as_str)
                .and_then(local_time_to_unix)
        })
        .ok_or(
            "'az account get-access-token' printed neither expires_on nor a readable expiresOn",
        )?;
    Ok(AccessToken::expiring_on(token, expires_on))
}

/// Most of a program's output kept (the rest is read and dropped).
const OUTPUT_KEPT: usize = 1 << 20;

/// Runs `cmd` to its end within `timeout` and returns its status, stdout and stderr (each
/// cut at `OUTPUT_KEPT`). Both pipes are read while it runs, with `poll(2)`: a program that
/// writes more than a pipe holds would otherwise block and never exit. No thread.
fn run_with_deadline(
    mut cmd: Command,
    timeout: Duration,
) -> Result<(std::process::ExitStatus, Vec<u8>, Vec<u8>), String> {
    use std::os::fd::{AsRawFd, OwnedFd};
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", cmd.get_program().to_string_lossy()))?;
    let deadline = Instant::now() + timeout;
    let timed_out = |child: &mut std::process::Child| {
        let _ = child.kill();
        let _ = child.wait();
        format!("no answer within {timeout:?}")
    };
    // (pipe while open, what was kept)
    let mut pipes: [(Option<std::fs::File>, Vec<u8>); 2] = [
        (
            child.stdout.take().map(|p| OwnedFd::from(p).into()),
            Vec::new(),
        ),
        (
            child.stderr.take().map(|p| OwnedFd::from(p).into()),
            Vec::new(),
        ),
    ];
    let mut chunk = [0u8; 8192];
    loop {
        let mut fds: Vec<libc::pollfd> = pipes
            .iter()
            .filter_map(|(pipe, _)| pipe.as_ref())
            .map(|pipe| libc::pollfd {
                fd: pipe.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        if fds.is_empty() {
            break;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(timed_out(&mut child));
        }
        let ms = left.as_millis().clamp(1, 1000) as libc::c_int;
        // SAFETY: `fds` is a live array of `fds.len()` initialised pollfds.
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if ready < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("waiting for its output: {e}"));
        }
        for (pipe, kept) in pipes.iter_mut() {
            let Some(file) = pipe else { continue };
            let fd = file.as_raw_fd();
            if !fds.iter().any(|p| p.fd == fd && p.revents != 0) {
                continue;
            }
            // poll said readable (or closed): this read does not block.
            match file.read(&mut chunk) {
                Ok(0) => *pipe = None,
                Ok(n) => {
                    let room = OUTPUT_KEPT - kept.len();
                    kept.extend_from_slice(&chunk[..n.min(room)]);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => *pipe = None,
            }
        }
    }
    // Both pipes are closed: the program is ending.
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let [(_, stdout), (_, stderr)] = pipes;
                return Ok((status, stdout, stderr));
            }
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Ok(None) => return Err(timed_out(&mut child)),
            Err(e) => return Err(format!("waiting for it: {e}")),
        }
    }
}

/// `expiresOn` as older Azure CLIs print it: `YYYY-MM-DD HH:MM:SS[.ffffff]` in local time.
pub fn local_time_to_unix(s: &str) -> Option<u64> {
    let s = s.trim();
    let (date, time) = s.split_once(' ')?;
    let mut d = date.split('-').map(|p| p.parse::<i32>().ok());
    let (year, month, day) = (d.next()??, d.next()??, d.next()??);
    let time = time.split('.').next()?;
    let mut t = time.split(':').map(|p| p.parse::<i32>().ok());
    let (hour, min, sec) = (t.next()??, t.next()??, t.next()??);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    // SAFETY: `tm` is a plain C struct, fully initialised (zeroed, then the fields mktime
    // reads); mktime only reads and normalises it.
    let epoch = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        tm.tm_year = year - 1900;
        tm.tm_mon = month - 1;
        tm.tm_mday = day;
        tm.tm_hour = hour;
        tm.tm_min = min;
        tm.tm_sec = sec;
        tm.tm_isdst = -1;
        libc::mktime(&mut tm)
    };
    u64::try_from(epoch).ok()
}

fn number_or_string(v: &Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// Reads `{"access_token","expires_in"|"expires_on","refresh_in"?}` (numbers or strings), or
/// turns an error answer into a reason.
fn parse_token_response(from: &str, status: u16, body: &[u8]) -> Result<AccessToken, String> {
    if !(200..300).contains(&status) {
        return Err(format!("{from} answered {status}{}", error_detail(body)));
    }
    let json: Value = serde_json::from_slice(body)
        .map_err(|_| format!("{from} answered {status} with a body that is not JSON"))?;
    let token = json
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| format!("{from} answered without an access_token"))?
        .to_string();
    let refresh_in = json.get("refresh_in").and_then(number_or_string);
    let token = if let Some(secs) = json.get("expires_in").and_then(number_or_string) {
        AccessToken::with_lifetime(token, Duration::from_secs(secs))
    } else if let Some(on) = json.get("expires_on").and_then(number_or_string) {
        AccessToken::expiring_on(token, on)
    } else {
        return Err(format!("{from} answered without expires_in or expires_on"));
    };
    Ok(token.with_refresh_in(refresh_in))
}

/// `: <error>: <description>` from an OAuth or Azure error body, bounded and printable.
fn error_detail(body: &[u8]) -> String {
    let Ok(json) = serde_json::from_slice::<Value>(body) else {
        return String::new();
    };
    let (code, description) = match json.get("error") {
        Some(Value::String(code)) => (
            code.clone(),
            json.get("error_description")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        ),
        Some(Value::Object(e)) => (
            e.get("code").and_then(Value::as_str).unwrap_or("").into(),
            e.get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .into(),
        ),
        _ => return String::new(),
    };
    let description = description.lines().next().unwrap_or("").to_string();
    match (code.is_empty(), description.is_empty()) {
        (true, true) => String::new(),
        (false, true) => format!(": {}", printable(&code)),
        (true, false) => format!(": {}", printable(&description)),
        (false, false) => format!(": {}: {}", printable(&code), printable(&description)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn config(env: &[(&str, &str)]) -> Config {
        let env: BTreeMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_map_and_lookup(&BTreeMap::new(), |n| env.get(n).cloned()).unwrap()
    }

    #[test]
    fn arc_challenge_accepts_only_a_key_base_name_inside_the_token_dir() {
        let dir = Path::new("/var/opt/azcmagent/tokens");
        assert_eq!(
            arc_challenge_file("Basic realm=/var/opt/azcmagent/tokens/abc-123.key", dir).unwrap(),
            dir.join("abc-123.key")
        );
        // the server's directory is ignored: only the base name counts
        assert_eq!(
            arc_challenge_file("Basic realm=/tmp/elsewhere/x.key", dir).unwrap(),
            dir.join("x.key")
        );
        for bad in [
            "Basic realm=/etc/shadow",
            "Basic realm=/var/opt/azcmagent/tokens/x.key/..",
            "Basic realm=/var/opt/azcmagent/tokens/",
            "Basic realm=.key",
            "Basic realm=/x/.hidden.key",
            "Bearer realm=/var/opt/azcmagent/tokens/x.key",
            "Basic /var/opt/azcmagent/tokens/x.key",
            "Basic realm=/var/opt/azcmagent/tokens/x.key.txt",
            "Basic realm=/var/opt/azcmagent/tokens/a b.key",
        ] {
            assert!(arc_challenge_file(bad, dir).is_err(), "{bad}");
        }
    }

    #[test]
    fn imds_keeps_retrying_410_for_its_seven_retries_then_reports_it() {
        let emu = akv_emulator::Emulator::start(akv_emulator::Options::default()).unwrap();
        let tokens = || emu.stats()["requests"]["token"].as_u64().unwrap_or(0);
        // The service's retry budget is zero: IMDS's schedule does not depend on it.
        let c = config(&[("AKV_MAX_RETRIES", "0")]);
        let interval = Duration::from_millis(20);
        let http = Http::new(&c).with_imds_gone_interval(interval);
        let base = emu.imds_url();
        let system = IdentitySelector::SystemAssigned;
        for probing in [false, true] {
            let before = tokens();
            emu.add_faults(&serde_json::json!([{"op": "token", "status": 410, "count": 7}]))
                .unwrap();
            let started = Instant::now();
            imds_token(&http, &base, &system, "https://vault.azure.net", probing).unwrap();
            assert!(started.elapsed() >= interval * 7, "{:?}", started.elapsed());
            assert_eq!(tokens() - before, 8, "probing: {probing}");
        }
        let before = tokens();
        emu.add_faults(&serde_json::json!([{"op": "token", "status": 410, "count": 8}]))
            .unwrap();
        let err = imds_token(&http, &base, &system, "https://vault.azure.net", false).unwrap_err();
        assert!(err.why.starts_with("IMDS answered 410"), "{err:?}");
        assert!(!err.unavailable, "IMDS is there, it is being updated");
        assert_eq!(tokens() - before, 8);
    }

    #[test]
    fn a_program_is_read_while_it_runs_and_stopped_at_its_deadline() {
        let sh = |script: &str| {
            let mut cmd = Command::new("/bin/sh");
            cmd.args(["-c", script]);
            cmd
        };
        // far more than a pipe holds, on both pipes
        let (status, stdout, stderr) = run_with_deadline(
            sh("head -c 300000 /dev/zero; head -c 300000 /dev/zero >&2; exit 3"),
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(status.code(), Some(3));
        assert_eq!((stdout.len(), stderr.len()), (300_000, 300_000));
        // more than is kept
        let (_, stdout, _) =
            run_with_deadline(sh("head -c 3000000 /dev/zero"), Duration::from_secs(10)).unwrap();
        assert_eq!(stdout.len(), OUTPUT_KEPT);

        let started = Instant::now();
        let err = run_with_deadline(sh("exec sleep 30"), Duration::from_millis(300)).unwrap_err();
        assert_eq!(err, "no answer within 300ms");
        assert!(started.elapsed() < Duration::from_secs(5));
        let err =
            run_with_deadline(Command::new("/nonexistent/az"), Duration::from_secs(1)).unwrap_err();
        assert!(err.starts_with("cannot run /nonexistent/az"), "{err}");
    }

    #[test]
    fn azure_cli_local_time_is_read() {
        let now = unix_now();
        // format "now" in local time as the CLI does, and read it back
        let t = now as libc::time_t;
        // SAFETY: localtime_r fills `tm` from `t`.
        let tm = unsafe {
            let mut tm: libc::tm = std::mem::zeroed();
            libc::localtime_r(&t, &mut tm);
            tm
        };
        let text = format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.123456",
            tm.tm_year + 1900,
            tm.tm_mon + 1,
            tm.tm_mday,
            tm.tm_hour,
            tm.tm_min,
            tm.tm_sec
        );
        assert_eq!(local_time_to_unix(&text), Some(now));
        assert_eq!(local_time_to_unix("2026-13-01 00:00:00"), None);
        assert_eq!(local_time_to_unix("yesterday"), None);
    }

    #[test]
    fn token_responses_with_numbers_or_strings() {
        let t = parse_token_response(
            "IMDS",
            200,
            br#"{"access_token":"abc","expires_in":"3599","expires_on":"1","token_type":"Bearer"}"#,
        )
        .unwrap();
        assert!(t.expires_at > Instant::now() + Duration::from_secs(3500));
        let on = unix_now() + 1000;
        let body = format!(r#"{{"access_token":"abc","expires_on":{on}}}"#);
        let t = parse_token_response("App Service", 200, body.as_bytes()).unwrap();
        assert!(t.expires_at > Instant::now() + Duration::from_secs(990));
        let err = parse_token_response(
            "Entra ID",
            401,
            br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x"}"#,
        )
        .unwrap_err();
        assert_eq!(
            err,
            "Entra ID answered 401: invalid_client: AADSTS7000215: Invalid client secret provided."
        );
        let err = parse_token_response("IMDS", 200, br#"{"token_type":"Bearer"}"#).unwrap_err();
        assert!(err.contains("without an access_token"), "{err}");
        let err = parse_token_response("IMDS", 200, b"<html>").unwrap_err();
        assert!(err.contains("not JSON"), "{err}");
    }

    #[test]
    fn absurd_expiry_values_are_accepted_without_panicking() {
        for body in [
            r#"{"access_token":"abc","expires_in":18446744073709551615}"#,
            r#"{"access_token":"abc","expires_on":"18446744073709551615"}"#,
            r#"{"access_token":"abc","expires_in":3599,"refresh_in":18446744073709551615}"#,
        ] {
            let t = parse_token_response("IMDS", 200, body.as_bytes()).unwrap();
            assert!(t.is_valid(Instant::now()), "{body}");
        }
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let jwt = format!(
            "{}.{}.sig",
            b64("{}"),
            b64(r#"{"exp":18446744073709551615}"#)
        );
        assert!(static_token(Some(&Secret::new(jwt)), None).is_ok());
    }

    #[test]
    fn static_jwt_expiry_is_read_and_expired_tokens_refused() {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let exp = unix_now() + 3600;
        let jwt = format!(
            "{}.{}.sig",
            b64(r#"{"alg":"RS256"}"#),
            b64(&format!(
                r#"{{"aud":"https://vault.azure.net","exp":{exp}}}"#
            ))
        );
        let t = static_token(Some(&Secret::new(jwt)), None).unwrap();
        assert!(t.expires_at > Instant::now() + Duration::from_secs(3500));
        let old = format!("{}.{}.sig", b64("{}"), b64(r#"{"exp":1000}"#));
        let err = static_token(Some(&Secret::new(old.clone())), None).unwrap_err();
        assert!(err.contains("expired"), "{err}");
        assert!(!err.contains(&old));
        // an opaque token is accepted as is
        assert!(static_token(Some(&Secret::new("opaque")), None).is_ok());
    }

    #[test]
    fn chain_order_and_what_each_source_needs() {
        let c = config(&[("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:9")]);
        let cred = Credential::from_config(&c).unwrap();
        let names: Vec<&str> = cred.candidates.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "access_token",
                "client_secret",
                "workload_identity",
                "managed_identity",
                "azure_cli"
            ]
        );
        // Managed identity flavour by environment, as MSAL decides.
        let c = config(&[
            ("IDENTITY_ENDPOINT", "http://127.0.0.1:1/msi/token"),
            ("IDENTITY_HEADER", "h"),
        ]);
        assert!(matches!(
            managed_identity(&c),
            Ok(Source::ManagedIdentity {
                source: ManagedIdentitySource::AppService { .. },
                ..
            })
        ));
        let c = config(&[
            (
                "IDENTITY_ENDPOINT",
                "http://127.0.0.1:1/metadata/identity/oauth2/token",
            ),
            ("IMDS_ENDPOINT", "http://127.0.0.1:1"),
        ]);
        assert!(matches!(
            managed_identity(&c),
            Ok(Source::ManagedIdentity {
                source: ManagedIdentitySource::AzureArc { .. },
                ..
            })
        ));
        let c = config(&[("AKV_MANAGED_IDENTITY_OBJECT_ID", "oid")]);
        match managed_identity(&c).unwrap() {
            Source::ManagedIdentity { source, id } => {
                assert!(matches!(source, ManagedIdentitySource::Imds { .. }));
                assert_eq!(id, IdentitySelector::ObjectId("oid".into()));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn explicit_credential_missing_settings_is_a_config_error() {
        let c = config(&[
            ("AKV_CREDENTIAL", "client_secret"),
            ("AZURE_CLIENT_ID", "x"),
        ]);
        let err = Credential::from_config(&c).unwrap_err().to_string();
        assert!(err.contains("AZURE_TENANT_ID"), "{err}");
        assert!(err.contains("AZURE_CLIENT_SECRET"), "{err}");
        let c = config(&[("AKV_CREDENTIAL", "access_token")]);
        assert!(Credential::from_config(&c).is_err());
        let c = config(&[("AKV_CREDENTIAL", "workload_identity")]);
        let err = Credential::from_config(&c).unwrap_err().to_string();
        assert!(err.contains("AZURE_FEDERATED_TOKEN_FILE"), "{err}");
    }

    #[test]
    fn credential_debug_hides_secrets() {
        let c = config(&[
            ("AZURE_TENANT_ID", "t"),
            ("AZURE_CLIENT_ID", "c"),
            ("AZURE_CLIENT_SECRET", "very-secret-value"),
            ("AKV_ACCESS_TOKEN", "very-secret-token"),
            ("IDENTITY_ENDPOINT", "http://127.0.0.1:1/msi/token"),
            ("IDENTITY_HEADER", "very-secret-header"),
        ]);
        let debug = format!("{:?}", Credential::from_config(&c).unwrap());
        assert!(!debug.contains("very-secret"), "{debug}");
    }
}
