//! A local Azure Key Vault + Managed HSM emulator with real crypto, real TLS and real auth
//! (DESIGN §5). Runs as the `akv-emulator` binary, or in-process for Rust tests through
//! [`Emulator::start`].

mod admin;
mod auth;
mod crypto;
mod error;
mod host;
mod http;
mod identity;
mod keys;
mod rest;
mod server;
mod tls;
mod util;

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;

pub use auth::TENANT_ID;

/// What `--key TYPE:NAME:KEY=SPEC` says: a key created at start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeySpec {
    /// `vault` or `managedHsm` (case-insensitive on the command line).
    pub managed_hsm: bool,
    pub vault: String,
    pub name: String,
    /// `rsa:2048|3072|4096`, `ec:P-256|P-384|P-521|P-256K`, `oct:128|192|256`.
    pub spec: String,
}

impl KeySpec {
    /// Parses `TYPE:NAME:KEY=SPEC`.
    pub fn parse(s: &str) -> Result<KeySpec, String> {
        let (left, spec) = s.split_once('=').ok_or_else(|| {
            format!("--key '{s}': expected TYPE:NAME:KEY=SPEC, e.g. vault:myvault:rsa1=rsa:2048")
        })?;
        let parts: Vec<&str> = left.split(':').collect();
        let [kind, vault, name] = parts.as_slice() else {
            return Err(format!(
                "--key '{s}': expected TYPE:NAME:KEY before '=', e.g. managedHsm:myhsm:ec1"
            ));
        };
        let managed_hsm = if kind.eq_ignore_ascii_case("vault") {
            false
        } else if kind.eq_ignore_ascii_case("managedHsm") {
            true
        } else {
            return Err(format!(
                "--key '{s}': type '{kind}' is neither 'vault' nor 'managedHsm'"
            ));
        };
        let key = KeySpec {
            managed_hsm,
            vault: vault.to_string(),
            name: name.to_string(),
            spec: spec.to_string(),
        };
        key.create_body()?;
        Ok(key)
    }

    /// Checks the names and the spec and builds the REST create body for them.
    fn create_body(&self) -> Result<Value, String> {
        if !util::valid_name(&self.vault, 3, 24) {
            return Err(format!(
                "vault name '{}' is invalid: 3-24 characters of 0-9, a-z, A-Z and '-'",
                self.vault
            ));
        }
        if !util::valid_name(&self.name, 1, 127) {
            return Err(format!(
                "key name '{}' is invalid: 1-127 characters of 0-9, a-z, A-Z and '-'",
                self.name
            ));
        }
        let hsm = self.managed_hsm;
        let (family, param) = self.spec.split_once(':').unwrap_or((&self.spec, ""));
        let body = match (family.to_ascii_lowercase().as_str(), param) {
            ("rsa", "2048" | "3072" | "4096") => serde_json::json!({
                "kty": if hsm { "RSA-HSM" } else { "RSA" },
                "key_size": param.parse::<u32>().unwrap_or(2048),
            }),
            ("ec", "P-256" | "P-384" | "P-521" | "P-256K") => serde_json::json!({
                "kty": if hsm { "EC-HSM" } else { "EC" },
                "crv": param,
            }),
            ("oct", "128" | "192" | "256") if hsm => serde_json::json!({
                "kty": "oct-HSM",
                "key_size": param.parse::<u32>().unwrap_or(256),
            }),
            ("oct", _) if !hsm => {
                return Err(format!(
                    "key spec '{}': oct (AES) keys exist only in a managedHsm",
                    self.spec
                ));
            }
            _ => {
                return Err(format!(
                    "key spec '{}' is invalid: use rsa:2048|3072|4096, ec:P-256|P-384|P-521|P-256K or oct:128|192|256",
                    self.spec
                ));
            }
        };
        Ok(body)
    }
}

/// The command line, as a struct.
#[derive(Clone, Debug)]
pub struct Options {
    pub listen: SocketAddr,
    pub imds_listen: SocketAddr,
    pub ca_out: Option<PathBuf>,
    pub keys: Vec<KeySpec>,
    pub token_ttl: Duration,
    pub latency: Duration,
    pub threads: usize,
    /// How long a client may take to send one request, from its first byte to the end of its
    /// body (and to finish the TLS handshake): a connection that stalls longer is answered 408
    /// and closed, so slow or stuck clients cannot hold the `threads` slots.
    pub request_timeout: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            listen: "127.0.0.1:0".parse().unwrap(),
            imds_listen: "127.0.0.1:0".parse().unwrap(),
            ca_out: None,
            keys: Vec::new(),
            token_ttl: Duration::from_secs(3600),
            latency: Duration::ZERO,
            threads: 128,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// A running emulator; stops (closing its listeners and connections) when dropped.
pub struct Emulator {
    shared: Arc<server::Shared>,
    https_addr: SocketAddr,
    imds_addr: SocketAddr,
    ca_path: PathBuf,
    work_dir: PathBuf,
    accept_threads: Vec<JoinHandle<()>>,
}

fn io_error(message: String) -> std::io::Error {
    std::io::Error::other(message)
}

/// A private directory for this run (challenge files, the CA when no `--ca-out`).
fn make_work_dir() -> std::io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = std::env::temp_dir().join(format!(
        "akv-emulator-{}-{}",
        std::process::id(),
        util::random_hex(6)
    ));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir.join("arc-tokens"))
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot create the work directory {}: {e}", dir.display()),
            )
        })?;
    Ok(dir)
}

impl Emulator {
    /// Generates the CA and leaf, creates the `keys`, binds both listeners and returns once they
    /// accept connections.
    pub fn start(options: Options) -> std::io::Result<Emulator> {
        for spec in &options.keys {
            spec.create_body().map_err(io_error)?;
        }
        let identity = tls::generate()
            .map_err(|e| io_error(format!("could not generate the TLS certificates: {e}")))?;
        let https = TcpListener::bind(options.listen).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot listen on {}: {e}", options.listen),
            )
        })?;
        let imds = TcpListener::bind(options.imds_listen).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot listen on {}: {e}", options.imds_listen),
            )
        })?;
        let https_addr = https.local_addr()?;
        let imds_addr = imds.local_addr()?;

        let work_dir = make_work_dir()?;
        let ca_path = options
            .ca_out
            .clone()
            .unwrap_or_else(|| work_dir.join("ca.pem"));
        std::fs::write(&ca_path, &identity.ca_pem).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot write the CA to {}: {e}", ca_path.display()),
            )
        })?;

        let shared = Arc::new(server::Shared::new(
            options.clone(),
            work_dir.join("arc-tokens"),
        ));
        let mut emulator = Emulator {
            shared: shared.clone(),
            https_addr,
            imds_addr,
            ca_path,
            work_dir,
            accept_threads: Vec::new(),
        };
        for spec in &options.keys {
            emulator.create_key(spec).map_err(io_error)?;
        }
        let acceptor = Arc::new(identity.acceptor);
        for (listener, kind, acceptor) in [
            (https, server::Listener::Https, Some(acceptor)),
            (imds, server::Listener::Imds, None),
        ] {
            let shared = shared.clone();
            let thread = std::thread::Builder::new()
                .name(format!("akv-emulator-{kind:?}").to_lowercase())
                .spawn(move || server::accept_loop(shared, listener, kind, acceptor))?;
            emulator.accept_threads.push(thread);
        }
        Ok(emulator)
    }

    /// The HTTPS listener, e.g. `127.0.0.1:40123` (what `AKV_CONNECT_TO` takes).
    pub fn https_addr(&self) -> SocketAddr {
        self.https_addr
    }

    /// The IMDS base URL, e.g. `http://127.0.0.1:40124` (what
    /// `AZURE_POD_IDENTITY_AUTHORITY_HOST` takes).
    pub fn imds_url(&self) -> String {
        format!("http://{}", self.imds_addr)
    }

    /// The CA certificate file (PEM) that issued the HTTPS certificate.
    pub fn ca_path(&self) -> &Path {
        &self.ca_path
    }

    /// The ready line the binary prints:
    /// `{"https":"127.0.0.1:PORT","imds":"http://127.0.0.1:PORT","ca":"PATH"}`.
    pub fn ready_line(&self) -> String {
        let s = |v: String| Value::String(v).to_string();
        format!(
            "{{\"https\":{},\"imds\":{},\"ca\":{}}}",
            s(self.https_addr.to_string()),
            s(self.imds_url()),
            s(self.ca_path.display().to_string())
        )
    }

    /// What `GET /_emulator/stats` returns, as JSON.
    pub fn stats(&self) -> serde_json::Value {
        self.shared.stats.json()
    }

    /// Creates a key as `--key` does and returns its `kid`.
    pub fn create_key(&self, spec: &KeySpec) -> Result<String, String> {
        self.create_key_with(spec, &Value::Object(Default::default()))
    }

    /// Creates a key with extra create-request fields: `extras` is merged into the REST create
    /// body, so it takes `{"key_ops":["verify"]}`, `{"attributes":{"enabled":false}}`,
    /// `{"attributes":{"nbf":..,"exp":..}}` exactly as `POST /keys/<name>/create` does.
    pub fn create_key_with(
        &self,
        spec: &KeySpec,
        extras: &serde_json::Value,
    ) -> Result<String, String> {
        let mut body = spec.create_body()?;
        let extras = extras
            .as_object()
            .ok_or("extras must be a JSON object of create-request fields")?;
        for (k, v) in extras {
            body[k] = v.clone();
        }
        let service = host::Service {
            cloud: host::Cloud::Public,
            managed_hsm: spec.managed_hsm,
            vault: spec.vault.to_ascii_lowercase(),
        };
        let keys = rest::Keys {
            store: &self.shared.store,
            service: &service,
        };
        let new_key = keys::create_request(spec.managed_hsm, &body).map_err(|e| e.message)?;
        let version = keys
            .add_version(&spec.name, new_key)
            .map_err(|e| e.message)?;
        Ok(version.kid(&service.host()))
    }

    /// Issues a token for `audience` as the IMDS endpoint would (for tests that need one).
    pub fn issue_token(&self, audience: &str) -> String {
        self.shared
            .tokens
            .issue(audience, auth::SYSTEM_IDENTITY_CLIENT_ID, TENANT_ID)
            .access_token
    }

    /// Same as `POST /_emulator/faults` with this JSON list.
    pub fn add_faults(&self, faults: &serde_json::Value) -> Result<(), String> {
        self.shared.faults.add(admin::parse_faults(faults)?);
        Ok(())
    }

    /// Same as `DELETE /_emulator/faults`.
    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    /// The secret the App Service endpoint (`<imds_url>/msi/token`) expects in
    /// `X-IDENTITY-HEADER` (what `IDENTITY_HEADER` takes).
    pub fn identity_header(&self) -> &str {
        &self.shared.identity_header
    }

    /// The directory where the Azure Arc endpoint writes its challenge `.key` files.
    pub fn arc_token_dir(&self) -> &Path {
        &self.shared.arc_dir
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        server::wake(self.https_addr);
        server::wake(self.imds_addr);
        for thread in self.accept_threads.drain(..) {
            let _ = thread.join();
        }
        self.shared.close_all();
        let _ = std::fs::remove_dir_all(&self.work_dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_spec_parses_and_explains_errors() {
        let k = KeySpec::parse("managedHSM:hsm1:k-1=ec:P-256K").unwrap();
        assert!(k.managed_hsm);
        assert_eq!(
            (k.vault.as_str(), k.name.as_str(), k.spec.as_str()),
            ("hsm1", "k-1", "ec:P-256K")
        );
        assert!(
            KeySpec::parse("vault:v1:k=rsa:2048")
                .unwrap_err()
                .contains("vault name")
        );
        assert!(
            KeySpec::parse("vault:vault1:k=oct:256")
                .unwrap_err()
                .contains("managedHsm")
        );
        assert!(
            KeySpec::parse("vault:vault1:k=rsa:1024")
                .unwrap_err()
                .contains("invalid")
        );
        assert!(
            KeySpec::parse("disk:vault1:k=rsa:2048")
                .unwrap_err()
                .contains("neither")
        );
        assert!(
            KeySpec::parse("vault:vault1:k")
                .unwrap_err()
                .contains("TYPE:NAME:KEY=SPEC")
        );
        assert!(
            KeySpec::parse("vault:vault1:k_1=rsa:2048")
                .unwrap_err()
                .contains("key name")
        );
    }
}
