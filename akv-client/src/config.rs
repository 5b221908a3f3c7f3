//! Settings (DESIGN §4): from the environment and from a key/value map that the provider fills
//! from its openssl.cnf section. The environment wins.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::Error;
use crate::keyid::Cloud;

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

/// Every setting of DESIGN §4, plus the standard Azure variables the credentials read.
///
/// `Debug` never prints a secret or a token.
#[derive(Clone, Default)]
pub struct Config {
    pub cloud: Cloud,
    pub api_version: String,
    pub credential: CredentialKind,
    pub client_id: Option<String>,
    pub tenant_id: Option<String>,
    // The remaining fields (secrets, files, ca_file, connect_to, timeout, max_retries,
    // log level and file, authority host, IMDS/App Service/Arc endpoints, ...) are the client
    // implementation's to define.
    pub timeout: Duration,
    pub max_retries: u32,
    pub log_level: LogLevel,
    pub log_file: Option<PathBuf>,
}

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
        let _ = (map, env);
        todo!()
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("cloud", &self.cloud)
            .field("api_version", &self.api_version)
            .field("credential", &self.credential)
            .finish_non_exhaustive()
    }
}
