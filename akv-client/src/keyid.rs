//! Key identifiers: every URI form of DESIGN §2, validated before any network.

use crate::error::Error;

/// Which Azure service holds the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ServiceKind {
    /// Azure Key Vault (`<name>.vault.azure.net`).
    Vault,
    /// Azure Managed HSM (`<name>.managedhsm.azure.net`).
    ManagedHsm,
}

/// Which Azure cloud: selects DNS suffixes, token audiences and the Entra authority host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Cloud {
    #[default]
    Public,
    China,
    UsGov,
}

impl Cloud {
    /// Parses `public`, `china`, `usgov` (case-insensitive).
    pub fn parse(s: &str) -> Result<Cloud, Error> {
        let _ = s;
        todo!()
    }

    /// DNS suffix of the service in this cloud, e.g. `vault.azure.net`.
    pub fn suffix(self, kind: ServiceKind) -> &'static str {
        let _ = kind;
        todo!()
    }

    /// Token audience (resource) of the service in this cloud, e.g. `https://vault.azure.net`.
    pub fn audience(self, kind: ServiceKind) -> &'static str {
        let _ = kind;
        todo!()
    }

    /// Default Entra authority host of this cloud, e.g. `https://login.microsoftonline.com`.
    pub fn authority_host(self) -> &'static str {
        todo!()
    }
}

/// A validated reference to a key, optionally pinned to a version.
///
/// Built only through [`KeyId::parse`], [`KeyId::new`] or [`KeyId::from_kid`], so every part
/// has been checked: no URL is ever built from unchecked text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyId {
    kind: ServiceKind,
    cloud: Cloud,
    vault: String,
    name: String,
    version: Option<String>,
}

impl KeyId {
    /// Parses any provider URI form (DESIGN §2): `akv:<type>:<name>:<key>[:<version>]`,
    /// `akv:<key id URL>`, `akv:type=..,vault=..,name=..[,version=..]`,
    /// `managedhsm:<name>:<key>[?version=<v>]`, each also with `//` after the scheme.
    /// Forms without a host take `default_cloud`; a key id URL carries its own cloud.
    /// Errors name the bad part.
    pub fn parse(uri: &str, default_cloud: Cloud) -> Result<KeyId, Error> {
        let _ = (uri, default_cloud);
        todo!()
    }

    /// Builds a key id from its parts, validating each one.
    pub fn new(
        kind: ServiceKind,
        cloud: Cloud,
        vault: &str,
        name: &str,
        version: Option<&str>,
    ) -> Result<KeyId, Error> {
        let _ = (kind, cloud, vault, name, version);
        todo!()
    }

    /// Parses a `kid` as the service returns it: `https://<host>/keys/<name>/<version>`.
    pub fn from_kid(kid: &str) -> Result<KeyId, Error> {
        let _ = kid;
        todo!()
    }

    pub fn kind(&self) -> ServiceKind {
        self.kind
    }
    pub fn cloud(&self) -> Cloud {
        self.cloud
    }
    /// The vault or Managed HSM name.
    pub fn vault(&self) -> &str {
        &self.vault
    }
    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// The same key pinned to `version` (validated).
    pub fn with_version(&self, version: &str) -> Result<KeyId, Error> {
        let _ = version;
        todo!()
    }

    /// `<vault>.<suffix>`
    pub fn host(&self) -> String {
        todo!()
    }

    /// `https://<host>/keys/<name>[/<version>]`
    pub fn url(&self) -> String {
        todo!()
    }

    /// The token audience for this key's service and cloud.
    pub fn audience(&self) -> &'static str {
        self.cloud.audience(self.kind)
    }
}

impl std::fmt::Display for KeyId {
    /// Canonical URI: `akv:vault:<name>:<key>[:<version>]` / `akv:managedHsm:...` in the
    /// public cloud, `akv:<key id URL>` in the others (so it parses back to the same id).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let _ = f;
        todo!()
    }
}
