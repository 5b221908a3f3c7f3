//! A local Azure Key Vault + Managed HSM emulator with real crypto, real TLS and real auth
//! (DESIGN §5). Runs as the `akv-emulator` binary, or in-process for Rust tests through
//! [`Emulator::start`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

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
        let _ = s;
        todo!()
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
        }
    }
}

/// A running emulator; stops (closing its listeners and connections) when dropped.
pub struct Emulator {
    _private: (),
}

impl Emulator {
    /// Generates the CA and leaf, creates the `keys`, binds both listeners and returns once they
    /// accept connections.
    pub fn start(options: Options) -> std::io::Result<Emulator> {
        let _ = options;
        todo!()
    }

    /// The HTTPS listener, e.g. `127.0.0.1:40123` (what `AKV_CONNECT_TO` takes).
    pub fn https_addr(&self) -> SocketAddr {
        todo!()
    }

    /// The IMDS base URL, e.g. `http://127.0.0.1:40124` (what
    /// `AZURE_POD_IDENTITY_AUTHORITY_HOST` takes).
    pub fn imds_url(&self) -> String {
        todo!()
    }

    /// The CA certificate file (PEM) that issued the HTTPS certificate.
    pub fn ca_path(&self) -> &Path {
        todo!()
    }

    /// The ready line the binary prints:
    /// `{"https":"127.0.0.1:PORT","imds":"http://127.0.0.1:PORT","ca":"PATH"}`.
    pub fn ready_line(&self) -> String {
        todo!()
    }

    /// What `GET /_emulator/stats` returns, as JSON.
    pub fn stats(&self) -> serde_json::Value {
        todo!()
    }

    /// Creates a key as `--key` does and returns its `kid`.
    pub fn create_key(&self, spec: &KeySpec) -> Result<String, String> {
        let _ = spec;
        todo!()
    }

    /// Creates a key with extra create-request fields: `extras` is merged into the REST create
    /// body, so it takes `{"key_ops":["verify"]}`, `{"attributes":{"enabled":false}}`,
    /// `{"attributes":{"nbf":..,"exp":..}}` exactly as `POST /keys/<name>/create` does.
    pub fn create_key_with(&self, spec: &KeySpec, extras: &serde_json::Value) -> Result<String, String> {
        let _ = (spec, extras);
        todo!()
    }

    /// Issues a token for `audience` as the IMDS endpoint would (for tests that need one).
    pub fn issue_token(&self, audience: &str) -> String {
        let _ = audience;
        todo!()
    }

    /// Same as `POST /_emulator/faults` with this JSON list.
    pub fn add_faults(&self, faults: &serde_json::Value) -> Result<(), String> {
        let _ = faults;
        todo!()
    }

    /// Same as `DELETE /_emulator/faults`.
    pub fn clear_faults(&self) {
        todo!()
    }

    /// The secret the App Service endpoint (`<imds_url>/msi/token`) expects in
    /// `X-IDENTITY-HEADER` (what `IDENTITY_HEADER` takes).
    pub fn identity_header(&self) -> &str {
        todo!()
    }

    /// The directory where the Azure Arc endpoint writes its challenge `.key` files.
    pub fn arc_token_dir(&self) -> &Path {
        todo!()
    }
}
