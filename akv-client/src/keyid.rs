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

impl ServiceKind {
    /// Parses `vault` or `managedHsm` (case-insensitive).
    pub fn parse(s: &str) -> Option<ServiceKind> {
        if s.eq_ignore_ascii_case("vault") {
            Some(ServiceKind::Vault)
        } else if s.eq_ignore_ascii_case("managedHsm") {
            Some(ServiceKind::ManagedHsm)
        } else {
            None
        }
    }

    /// The URI spelling: `vault` or `managedHsm`.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceKind::Vault => "vault",
            ServiceKind::ManagedHsm => "managedHsm",
        }
    }

    /// How a person calls the container: `vault` or `Managed HSM`.
    pub fn describe(self) -> &'static str {
        match self {
            ServiceKind::Vault => "vault",
            ServiceKind::ManagedHsm => "Managed HSM",
        }
    }
}

/// Which Azure cloud: selects DNS suffixes, token audiences and the Entra authority host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Cloud {
    #[default]
    Public,
    China,
    UsGov,
}

const ALL_CLOUDS: [Cloud; 3] = [Cloud::Public, Cloud::China, Cloud::UsGov];
const ALL_KINDS: [ServiceKind; 2] = [ServiceKind::Vault, ServiceKind::ManagedHsm];

impl Cloud {
    /// Parses `public`, `china`, `usgov` (case-insensitive; the Azure CLI names
    /// `AzureCloud`, `AzureChinaCloud`, `AzureUSGovernment` are accepted too).
    pub fn parse(s: &str) -> Result<Cloud, Error> {
        let lower = s.trim().to_ascii_lowercase();
        match lower.as_str() {
            "public" | "azurecloud" => Ok(Cloud::Public),
            "china" | "azurechinacloud" => Ok(Cloud::China),
            "usgov" | "azureusgovernment" => Ok(Cloud::UsGov),
            _ => Err(Error::Config {
                setting: "cloud".into(),
                reason: format!("'{}' is not one of public, china, usgov", printable(s)),
            }),
        }
    }

    /// The configuration spelling: `public`, `china`, `usgov`.
    pub fn as_str(self) -> &'static str {
        match self {
            Cloud::Public => "public",
            Cloud::China => "china",
            Cloud::UsGov => "usgov",
        }
    }

    /// DNS suffix of the service in this cloud, e.g. `vault.azure.net`.
    pub fn suffix(self, kind: ServiceKind) -> &'static str {
        match (self, kind) {
            (Cloud::Public, ServiceKind::Vault) => "vault.azure.net",
            (Cloud::Public, ServiceKind::ManagedHsm) => "managedhsm.azure.net",
            (Cloud::China, ServiceKind::Vault) => "vault.azure.cn",
            (Cloud::China, ServiceKind::ManagedHsm) => "managedhsm.azure.cn",
            (Cloud::UsGov, ServiceKind::Vault) => "vault.usgovcloudapi.net",
            (Cloud::UsGov, ServiceKind::ManagedHsm) => "managedhsm.usgovcloudapi.net",
        }
    }

    /// Token audience (resource) of the service in this cloud, e.g. `https://vault.azure.net`.
    pub fn audience(self, kind: ServiceKind) -> &'static str {
        match (self, kind) {
            (Cloud::Public, ServiceKind::Vault) => "https://vault.azure.net",
            (Cloud::Public, ServiceKind::ManagedHsm) => "https://managedhsm.azure.net",
            (Cloud::China, ServiceKind::Vault) => "https://vault.azure.cn",
            (Cloud::China, ServiceKind::ManagedHsm) => "https://managedhsm.azure.cn",
            (Cloud::UsGov, ServiceKind::Vault) => "https://vault.usgovcloudapi.net",
            (Cloud::UsGov, ServiceKind::ManagedHsm) => "https://managedhsm.usgovcloudapi.net",
        }
    }

    /// Default Entra authority host of this cloud, e.g. `https://login.microsoftonline.com`.
    pub fn authority_host(self) -> &'static str {
        match self {
            Cloud::Public => "https://login.microsoftonline.com",
            Cloud::China => "https://login.chinacloudapi.cn",
            Cloud::UsGov => "https://login.microsoftonline.us",
        }
    }

    /// Which cloud and service a host name (`<name>.<suffix>`, any case) belongs to, with the
    /// `<name>` part. The name is not validated here.
    pub fn split_host(host: &str) -> Option<(Cloud, ServiceKind, &str)> {
        // Compared as bytes: `host` may hold any character, and slicing a `str` anywhere but
        // on a character boundary panics. The split lands just before an ASCII '.', which
        // is always a boundary.
        let bytes = host.as_bytes();
        for cloud in ALL_CLOUDS {
            for kind in ALL_KINDS {
                let suffix = cloud.suffix(kind).as_bytes();
                let Some(dot) = bytes.len().checked_sub(suffix.len() + 1) else {
                    continue;
                };
                if dot > 0 && bytes[dot] == b'.' && bytes[dot + 1..].eq_ignore_ascii_case(suffix) {
                    return Some((cloud, kind, &host[..dot]));
                }
            }
        }
        None
    }

    /// Whether `host` is a Key Vault or Managed HSM host of any cloud.
    pub fn is_service_host(host: &str) -> bool {
        Cloud::split_host(host).is_some()
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

/// Longest URI we look at; anything longer is refused before parsing.
const MAX_URI_LEN: usize = 2048;

impl KeyId {
    /// Parses any provider URI form (DESIGN §2): `akv:<type>:<name>:<key>[:<version>]`,
    /// `akv:<key id URL>`, `akv:type=..,vault=..,name=..[,version=..]`,
    /// `managedhsm:<name>:<key>[?version=<v>]`, each also with `//` after the scheme.
    /// Forms without a host take `default_cloud`; a key id URL carries its own cloud.
    /// Errors name the bad part.
    pub fn parse(uri: &str, default_cloud: Cloud) -> Result<KeyId, Error> {
        let bad = |reason: String| Error::InvalidKeyId {
            input: printable(uri),
            reason,
        };
        if uri.len() > MAX_URI_LEN {
            return Err(bad(format!("longer than {MAX_URI_LEN} characters")));
        }
        if let Some(c) = uri.chars().find(|c| c.is_control() || c.is_whitespace()) {
            return Err(bad(format!(
                "contains a space or control character ({:?})",
                c
            )));
        }
        let Some((scheme, rest)) = uri.split_once(':') else {
            return Err(bad("no scheme: expected 'akv:' or 'managedhsm:'".into()));
        };
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let parsed = if scheme.eq_ignore_ascii_case("akv") {
            if starts_with_ignore_case(rest, "https:") {
                KeyId::parse_url(rest)
            } else if rest.contains('=') {
                KeyId::parse_pairs(rest, default_cloud)
            } else {
                KeyId::parse_colons(rest, default_cloud)
            }
        } else if scheme.eq_ignore_ascii_case("managedhsm") {
            KeyId::parse_managedhsm_scheme(rest, default_cloud)
        } else {
            Err(format!(
                "unknown scheme '{}': expected 'akv:' or 'managedhsm:'",
                printable(scheme)
            ))
        };
        parsed.map_err(bad)
    }

    /// `<type>:<name>:<key>[:<version>]`
    fn parse_colons(rest: &str, cloud: Cloud) -> Result<KeyId, String> {
        let parts: Vec<&str> = rest.split(':').collect();
        if parts.len() < 3 || parts.len() > 4 {
            return Err(
                "expected akv:<vault|managedHsm>:<name>:<key>[:<version>], akv:https://<key id URL> \
                 or akv:type=..,vault=..,name=..[,version=..]"
                    .into(),
            );
        }
        let kind = parse_kind(parts[0])?;
        KeyId::checked(kind, cloud, parts[1], parts[2], parts.get(3).copied())
    }

    /// `type=<type>,vault=<name>,name=<key>[,version=<v>]` (Microsoft's provider)
    fn parse_pairs(rest: &str, cloud: Cloud) -> Result<KeyId, String> {
        let (mut kind, mut vault, mut name, mut version) = (None, None, None, None);
        for pair in rest.split(',') {
            let Some((key, value)) = pair.split_once('=') else {
                return Err(format!("'{}' is not a key=value pair", printable(pair)));
            };
            let slot = match key.to_ascii_lowercase().as_str() {
                "type" => &mut kind,
                "vault" => &mut vault,
                "name" => &mut name,
                "version" => &mut version,
                _ => {
                    return Err(format!(
                        "unknown attribute '{}': expected type, vault, name, version",
                        printable(key)
                    ));
                }
            };
            if slot.replace(value).is_some() {
                return Err(format!("attribute '{}' given twice", printable(key)));
            }
        }
        let kind = parse_kind(kind.ok_or("missing attribute 'type'")?)?;
        let vault = vault.ok_or("missing attribute 'vault'")?;
        let name = name.ok_or("missing attribute 'name'")?;
        KeyId::checked(kind, cloud, vault, name, version)
    }

    /// `<name>:<key>[?version=<v>]` after `managedhsm:` (Microsoft's provider)
    fn parse_managedhsm_scheme(rest: &str, cloud: Cloud) -> Result<KeyId, String> {
        let (path, version) = match rest.split_once('?') {
            Some((path, query)) => match query.split_once('=') {
                Some(("version", v)) => (path, Some(v)),
                _ => {
                    return Err(format!(
                        "unsupported query '{}': only ?version=<v>",
                        printable(query)
                    ));
                }
            },
            None => (rest, None),
        };
        let Some((vault, name)) = path.split_once(':') else {
            return Err("expected managedhsm:<name>:<key>[?version=<v>]".into());
        };
        if name.contains(':') {
            return Err("expected managedhsm:<name>:<key>[?version=<v>]".into());
        }
        KeyId::checked(ServiceKind::ManagedHsm, cloud, vault, name, version)
    }

    /// `https://<name>.<suffix>[:443]/keys/<key>[/<version>][/]`
    fn parse_url(url: &str) -> Result<KeyId, String> {
        let Some(rest) = strip_prefix_ignore_case(url, "https://") else {
            return Err("a key id URL must start with https://".into());
        };
        if rest.contains(['?', '#', '@', '%', '\\']) {
            return Err("a key id URL takes no query, fragment, user info or escapes".into());
        }
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let host = match authority.split_once(':') {
            Some((host, "443")) => host,
            Some((_, port)) => return Err(format!("port '{}' is not 443", printable(port))),
            None => authority,
        };
        let Some((cloud, kind, vault)) = Cloud::split_host(host) else {
            return Err(format!(
                "host '{}' is not a Key Vault or Managed HSM host (<name>.vault.azure.net, \
                 <name>.managedhsm.azure.net or another cloud's suffix)",
                printable(host)
            ));
        };
        let segments: Vec<&str> = path.split('/').collect();
        let (name, version) = match segments.as_slice() {
            ["keys", name] | ["keys", name, ""] => (*name, None),
            ["keys", name, version] | ["keys", name, version, ""] => (*name, Some(*version)),
            _ => {
                return Err(format!(
                    "path '/{}' is not /keys/<name>[/<version>]",
                    printable(path)
                ));
            }
        };
        KeyId::checked(kind, cloud, vault, name, version)
    }

    fn checked(
        kind: ServiceKind,
        cloud: Cloud,
        vault: &str,
        name: &str,
        version: Option<&str>,
    ) -> Result<KeyId, String> {
        check_vault_name(kind, vault)?;
        check_key_name(name)?;
        if let Some(v) = version {
            check_version(v)?;
        }
        Ok(KeyId {
            kind,
            cloud,
            vault: vault.to_string(),
            name: name.to_string(),
            version: version.map(str::to_string),
        })
    }

    /// Builds a key id from its parts, validating each one.
    pub fn new(
        kind: ServiceKind,
        cloud: Cloud,
        vault: &str,
        name: &str,
        version: Option<&str>,
    ) -> Result<KeyId, Error> {
        KeyId::checked(kind, cloud, vault, name, version).map_err(|reason| Error::InvalidKeyId {
            input: printable(&format!(
                "{}:{}:{}{}",
                kind.as_str(),
                vault,
                name,
                version.map(|v| format!(":{v}")).unwrap_or_default()
            )),
            reason,
        })
    }

    /// Parses a `kid` as the service returns it: `https://<host>/keys/<name>/<version>`.
    pub fn from_kid(kid: &str) -> Result<KeyId, Error> {
        let bad = |reason: String| Error::InvalidKeyId {
            input: printable(kid),
            reason,
        };
        if kid.len() > MAX_URI_LEN {
            return Err(bad(format!("longer than {MAX_URI_LEN} characters")));
        }
        let id = KeyId::parse_url(kid).map_err(bad)?;
        if id.version.is_none() {
            return Err(bad("a kid must name a version".into()));
        }
        Ok(id)
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
        check_version(version).map_err(|reason| Error::InvalidKeyId {
            input: printable(version),
            reason,
        })?;
        Ok(KeyId {
            version: Some(version.to_string()),
            ..self.clone()
        })
    }

    /// The same key without a version.
    pub fn without_version(&self) -> KeyId {
        KeyId {
            version: None,
            ..self.clone()
        }
    }

    /// Whether `other` names the same key (vault and key names compare case-insensitively, as
    /// the service does), whatever the versions.
    pub fn same_key(&self, other: &KeyId) -> bool {
        self.kind == other.kind
            && self.cloud == other.cloud
            && self.vault.eq_ignore_ascii_case(&other.vault)
            && self.name.eq_ignore_ascii_case(&other.name)
    }

    /// How a person names the key: `key 'rsa1' in vault 'myvault'`, `key 'k' in Managed HSM
    /// 'hsm1'` (the version, when pinned, is left out: it is in the request id's logs).
    pub fn describe(&self) -> String {
        format!(
            "key '{}' in {} '{}'",
            self.name,
            self.kind.describe(),
            self.vault
        )
    }

    /// `<vault>.<suffix>`
    pub fn host(&self) -> String {
        format!("{}.{}", self.vault, self.cloud.suffix(self.kind))
    }

    /// `https://<host>/keys/<name>[/<version>]`
    pub fn url(&self) -> String {
        match &self.version {
            Some(v) => format!("https://{}/keys/{}/{}", self.host(), self.name, v),
            None => format!("https://{}/keys/{}", self.host(), self.name),
        }
    }

    /// `https://<host>/keys/<name>/<version>/<op>`; a versionless id gives `/keys/<name>//<op>`,
    /// which the service reads as "the current version".
    pub fn operation_url(&self, op: &str) -> String {
        format!(
            "https://{}/keys/{}/{}/{}",
            self.host(),
            self.name,
            self.version.as_deref().unwrap_or(""),
            op
        )
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
        if self.cloud == Cloud::Public {
            write!(f, "akv:{}:{}:{}", self.kind.as_str(), self.vault, self.name)?;
            if let Some(v) = &self.version {
                write!(f, ":{v}")?;
            }
            Ok(())
        } else {
            write!(f, "akv:{}", self.url())
        }
    }
}

fn parse_kind(s: &str) -> Result<ServiceKind, String> {
    ServiceKind::parse(s).ok_or_else(|| {
        format!(
            "type '{}' is not 'vault' or 'managedHsm' (case-insensitive)",
            printable(s)
        )
    })
}

fn check_vault_name(kind: ServiceKind, vault: &str) -> Result<(), String> {
    let what = kind.describe();
    let shown = printable(vault);
    if vault.is_empty() {
        return Err(format!("empty {what} name"));
    }
    if !(3..=24).contains(&vault.len()) {
        return Err(format!(
            "{what} name '{shown}' must be 3 to 24 characters long"
        ));
    }
    if !vault
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(format!(
            "{what} name '{shown}' may contain only letters, digits and '-'"
        ));
    }
    Ok(())
}

fn check_key_name(name: &str) -> Result<(), String> {
    let shown = printable(name);
    if name.is_empty() {
        return Err("empty key name".into());
    }
    if name.len() > 127 {
        return Err(format!("key name '{shown}' is longer than 127 characters"));
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(format!(
            "key name '{shown}' may contain only letters, digits and '-'"
        ));
    }
    Ok(())
}

fn check_version(version: &str) -> Result<(), String> {
    let shown = printable(version);
    if version.is_empty() {
        return Err("empty key version".into());
    }
    if version.len() > 64 {
        return Err(format!(
            "key version '{shown}' is longer than 64 characters"
        ));
    }
    if !version.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!(
            "key version '{shown}' may contain only letters and digits"
        ));
    }
    Ok(())
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    strip_prefix_ignore_case(s, prefix).is_some()
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// User input echoed in an error: control characters escaped and the length bounded, so an
/// error line stays one readable line.
pub(crate) fn printable(s: &str) -> String {
    const MAX: usize = 200;
    let mut out: String = s.chars().take(MAX).flat_map(char::escape_debug).collect();
    if s.chars().count() > MAX {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(uri: &str) -> Result<KeyId, Error> {
        KeyId::parse(uri, Cloud::Public)
    }

    fn parts(id: &KeyId) -> (ServiceKind, Cloud, &str, &str, Option<&str>) {
        (id.kind(), id.cloud(), id.vault(), id.name(), id.version())
    }

    const V: &str = "78deebed173b48e48f55abf87ed4cf71";

    #[test]
    fn colon_form_vault_and_hsm_with_and_without_version() {
        let id = parse("akv:vault:myvault:rsa1").unwrap();
        assert_eq!(
            parts(&id),
            (ServiceKind::Vault, Cloud::Public, "myvault", "rsa1", None)
        );
        assert_eq!(id.url(), "https://myvault.vault.azure.net/keys/rsa1");
        let id = parse(&format!("akv:vault:myvault:rsa1:{V}")).unwrap();
        assert_eq!(id.version(), Some(V));
        assert_eq!(
            id.url(),
            format!("https://myvault.vault.azure.net/keys/rsa1/{V}")
        );
        let id = parse("akv:managedHsm:myHsm:myKey").unwrap();
        assert_eq!(
            parts(&id),
            (
                ServiceKind::ManagedHsm,
                Cloud::Public,
                "myHsm",
                "myKey",
                None
            )
        );
        assert_eq!(id.host(), "myHsm.managedhsm.azure.net");
        assert_eq!(id.audience(), "https://managedhsm.azure.net");
    }

    #[test]
    fn type_and_scheme_are_case_insensitive() {
        for uri in [
            "AKV:VAULT:myvault:rsa1",
            "akv:Vault:myvault:rsa1",
            "Akv:vault:myvault:rsa1",
        ] {
            assert_eq!(parse(uri).unwrap().kind(), ServiceKind::Vault, "{uri}");
        }
        for uri in ["akv:managedhsm:h01:k", "akv:MANAGEDHSM:h01:k"] {
            assert_eq!(parse(uri).unwrap().kind(), ServiceKind::ManagedHsm, "{uri}");
        }
    }

    #[test]
    fn double_slash_after_scheme_is_accepted_in_every_form() {
        let plain = parse("akv:vault:myvault:rsa1").unwrap();
        assert_eq!(parse("akv://vault:myvault:rsa1").unwrap(), plain);
        assert_eq!(
            parse("akv://https://myvault.vault.azure.net/keys/rsa1").unwrap(),
            plain
        );
        assert_eq!(
            parse("akv://type=vault,vault=myvault,name=rsa1").unwrap(),
            plain
        );
        assert_eq!(
            parse("managedhsm://myhsm:k1").unwrap(),
            parse("managedhsm:myhsm:k1").unwrap()
        );
    }

    #[test]
    fn url_form_carries_its_cloud_and_kind() {
        let cases = [
            ("myvault.vault.azure.net", Cloud::Public, ServiceKind::Vault),
            (
                "myhsm.managedhsm.azure.net",
                Cloud::Public,
                ServiceKind::ManagedHsm,
            ),
            ("myvault.vault.azure.cn", Cloud::China, ServiceKind::Vault),
            (
                "myhsm.managedhsm.azure.cn",
                Cloud::China,
                ServiceKind::ManagedHsm,
            ),
            (
                "myvault.vault.usgovcloudapi.net",
                Cloud::UsGov,
                ServiceKind::Vault,
            ),
            (
                "myhsm.managedhsm.usgovcloudapi.net",
                Cloud::UsGov,
                ServiceKind::ManagedHsm,
            ),
        ];
        for (host, cloud, kind) in cases {
            // the default cloud does not matter for a URL
            let id =
                KeyId::parse(&format!("akv:https://{host}/keys/k1/{V}"), Cloud::China).unwrap();
            assert_eq!((id.cloud(), id.kind()), (cloud, kind), "{host}");
            assert_eq!(id.url(), format!("https://{host}/keys/k1/{V}"));
            assert_eq!(id.version(), Some(V));
        }
    }

    #[test]
    fn url_form_accepts_trailing_slash_port_443_and_uppercase_host() {
        let want = parse("akv:vault:myvault:rsa1").unwrap();
        assert_eq!(
            parse("akv:https://myvault.vault.azure.net/keys/rsa1/").unwrap(),
            want
        );
        assert_eq!(
            parse("akv:https://myvault.vault.azure.net:443/keys/rsa1").unwrap(),
            want
        );
        assert_eq!(
            parse("akv:HTTPS://myvault.VAULT.AZURE.NET/keys/rsa1").unwrap(),
            want
        );
        assert_eq!(
            parse(&format!(
                "akv:https://myvault.vault.azure.net/keys/rsa1/{V}/"
            ))
            .unwrap()
            .version(),
            Some(V)
        );
    }

    #[test]
    fn pairs_form_matches_microsofts_provider() {
        let id = parse("akv:type=managedHsm,vault=ManagedHSMOpenSSLEngine,name=myrsakey").unwrap();
        assert_eq!(
            parts(&id),
            (
                ServiceKind::ManagedHsm,
                Cloud::Public,
                "ManagedHSMOpenSSLEngine",
                "myrsakey",
                None
            )
        );
        let id = parse(&format!("akv:name=k,version={V},vault=abc,type=vault")).unwrap();
        assert_eq!(
            parts(&id),
            (ServiceKind::Vault, Cloud::Public, "abc", "k", Some(V))
        );
    }

    #[test]
    fn managedhsm_scheme_with_and_without_version() {
        let id = parse("managedhsm:myhsm:k1").unwrap();
        assert_eq!(
            parts(&id),
            (ServiceKind::ManagedHsm, Cloud::Public, "myhsm", "k1", None)
        );
        let id = parse(&format!("managedhsm:myhsm:k1?version={V}")).unwrap();
        assert_eq!(id.version(), Some(V));
        assert_eq!(
            id.url(),
            format!("https://myhsm.managedhsm.azure.net/keys/k1/{V}")
        );
    }

    #[test]
    fn forms_without_host_take_the_default_cloud() {
        let id = KeyId::parse("akv:vault:myvault:rsa1", Cloud::UsGov).unwrap();
        assert_eq!(
            id.url(),
            "https://myvault.vault.usgovcloudapi.net/keys/rsa1"
        );
        assert_eq!(id.audience(), "https://vault.usgovcloudapi.net");
        let id = KeyId::parse("managedhsm:h01:k", Cloud::China).unwrap();
        assert_eq!(id.host(), "h01.managedhsm.azure.cn");
        assert_eq!(id.audience(), "https://managedhsm.azure.cn");
    }

    #[test]
    fn name_and_version_limits_are_inclusive() {
        let vault24 = "a".repeat(24);
        let key127 = "k".repeat(127);
        let ver64 = "0".repeat(64);
        let id = parse(&format!("akv:vault:{vault24}:{key127}:{ver64}")).unwrap();
        assert_eq!(id.vault().len(), 24);
        assert_eq!(id.name().len(), 127);
        assert_eq!(id.version().unwrap().len(), 64);
        assert!(parse("akv:vault:abc:k").is_ok());
        assert!(parse("akv:vault:a-1:K-9").is_ok());
    }

    #[test]
    fn display_round_trips_in_every_cloud() {
        for uri in [
            "akv:vault:myvault:rsa1".to_string(),
            format!("akv:managedHsm:myHsm:k:{V}"),
            format!("akv:https://myvault.vault.azure.cn/keys/rsa1/{V}"),
            "akv:https://myhsm.managedhsm.usgovcloudapi.net/keys/ec1".to_string(),
        ] {
            let id = parse(&uri).unwrap();
            assert_eq!(id.to_string(), uri);
            assert_eq!(parse(&id.to_string()).unwrap(), id);
        }
    }

    #[test]
    fn from_kid_requires_a_version_and_with_version_pins() {
        let kid = format!("https://myvault.vault.azure.net/keys/rsa1/{V}");
        let id = KeyId::from_kid(&kid).unwrap();
        assert_eq!(id.version(), Some(V));
        assert_eq!(id.url(), kid);
        let err = KeyId::from_kid("https://myvault.vault.azure.net/keys/rsa1").unwrap_err();
        assert!(err.to_string().contains("version"), "{err}");
        let pinned = parse("akv:vault:myvault:rsa1")
            .unwrap()
            .with_version(V)
            .unwrap();
        assert_eq!(pinned, id);
        assert!(pinned.with_version("bad/version").is_err());
        assert!(pinned.same_key(&parse("akv:vault:MYVAULT:RSA1").unwrap()));
    }

    #[test]
    fn operation_url_of_versionless_key_has_empty_version_segment() {
        let id = parse("akv:vault:myvault:rsa1").unwrap();
        assert_eq!(
            id.operation_url("sign"),
            "https://myvault.vault.azure.net/keys/rsa1//sign"
        );
        let id = id.with_version(V).unwrap();
        assert_eq!(
            id.operation_url("wrapkey"),
            format!("https://myvault.vault.azure.net/keys/rsa1/{V}/wrapkey")
        );
    }

    #[test]
    fn new_validates_each_part() {
        assert!(KeyId::new(ServiceKind::Vault, Cloud::Public, "myvault", "k", None).is_ok());
        let err = KeyId::new(ServiceKind::Vault, Cloud::Public, "my.vault", "k", None).unwrap_err();
        assert!(err.to_string().contains("vault name"), "{err}");
        let err = KeyId::new(
            ServiceKind::ManagedHsm,
            Cloud::Public,
            "hsm1",
            "k",
            Some("v-1"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("version"), "{err}");
    }

    /// Each malformed URI with a word its error must contain (naming the bad part).
    const MALFORMED: &[(&str, &str)] = &[
        ("", "scheme"),
        ("vault:myvault:rsa1", "scheme"),
        ("pkcs11:token=x", "scheme"),
        ("akv", "scheme"),
        ("akv:", "expected"),
        ("akv:vault", "expected"),
        ("akv:vault:myvault", "expected"),
        ("akv:vault:myvault:rsa1:v1:extra", "expected"),
        ("akv:keyvault:myvault:rsa1", "type"),
        ("akv::myvault:rsa1", "type"),
        ("akv:vault::rsa1", "empty vault name"),
        ("akv:vault:ab:rsa1", "3 to 24"),
        ("akv:vault:abcdefghijklmnopqrstuvwxy:rsa1", "3 to 24"),
        ("akv:vault:my_vault:rsa1", "vault name"),
        ("akv:vault:my.vault:rsa1", "vault name"),
        ("akv:vault:myvault:", "empty key name"),
        ("akv:vault:myvault:rsa_1", "key name"),
        ("akv:vault:myvault:rsa/1", "key name"),
        ("akv:vault:myvault:rsa1:", "empty key version"),
        ("akv:vault:myvault:rsa1:ab-cd", "key version"),
        ("akv:vault:myvault:rsa1:../x", "key version"),
        ("akv:vault:my vault:rsa1", "space"),
        ("akv:vault:myvault:rsa1\n", "control"),
        ("akv:managedHsm:myhsm:ключ", "key name"),
        ("akv:https://myvault.vault.azure.net/secrets/rsa1", "path"),
        ("akv:https://myvault.vault.azure.net/keys", "path"),
        (
            "akv:https://myvault.vault.azure.net/keys/",
            "empty key name",
        ),
        ("akv:https://myvault.vault.azure.net/keys/a/b/c", "path"),
        ("akv:https://myvault.example.com/keys/rsa1", "host"),
        ("akv:https://vault.azure.net/keys/rsa1", "host"),
        (
            "akv:https://my_vault.vault.azure.net/keys/rsa1",
            "vault name",
        ),
        (
            "akv:https://evil.com#.vault.azure.net/keys/rsa1",
            "fragment",
        ),
        (
            "akv:https://a@myvault.vault.azure.net/keys/rsa1",
            "user info",
        ),
        ("akv:https://myvault.vault.azure.net:8443/keys/rsa1", "port"),
        (
            "akv:https://myvault.vault.azure.net/keys/rsa1?api-version=1",
            "query",
        ),
        ("akv:https://myvault.vault.azure.net/keys/rs%61", "escapes"),
        ("akv:https:myvault.vault.azure.net/keys/rsa1", "https://"),
        ("akv:type=vault,vault=myvault", "missing attribute 'name'"),
        ("akv:type=vault,name=k", "missing attribute 'vault'"),
        ("akv:vault=myvault,name=k", "missing attribute 'type'"),
        (
            "akv:type=vault,vault=myvault,name=k,colour=red",
            "unknown attribute",
        ),
        ("akv:type=vault,vault=myvault,vault=other,name=k", "twice"),
        ("akv:type=vault,vault=myvault,name", "key=value"),
        ("akv:type=hsm,vault=myvault,name=k", "type"),
        (
            "akv:type=vault,vault=myvault,name=k,version=",
            "empty key version",
        ),
        ("managedhsm:myhsm", "expected"),
        ("managedhsm:myhsm:k:v", "expected"),
        ("managedhsm:myhsm:k?ver=1", "query"),
        ("managedhsm:myhsm:k?version=a_b", "key version"),
        ("managedhsm:m:k", "3 to 24"),
    ];

    #[test]
    fn malformed_uris_are_refused_with_the_bad_part_named() {
        assert!(MALFORMED.len() >= 30);
        for (uri, needle) in MALFORMED {
            let err = parse(uri).expect_err(uri);
            let text = err.to_string();
            assert!(
                matches!(err, Error::InvalidKeyId { .. }),
                "{uri}: wrong variant {err:?}"
            );
            assert!(
                text.contains(needle),
                "{uri:?}: error '{text}' does not mention '{needle}'"
            );
        }
    }

    #[test]
    fn overlong_input_is_refused_and_echoed_shortened() {
        let uri = format!("akv:vault:myvault:{}", "k".repeat(5000));
        let text = parse(&uri).unwrap_err().to_string();
        assert!(text.contains("longer than"), "{text}");
        assert!(text.len() < 400, "{}", text.len());
    }

    #[test]
    fn non_ascii_hosts_and_kids_are_refused_without_panicking() {
        // A multi-byte character right before the DNS suffix once made the host split
        // slice inside that character.
        for uri in [
            "akv:https://abévault.azure.net/keys/k",
            "akv:https://xé.vault.azure.net/keys/k",
            "akv:https://ключ.managedhsm.azure.net/keys/k",
            "akv:https://a\u{202e}b.vault.azure.net/keys/k",
        ] {
            let err = parse(uri).expect_err(uri);
            assert!(matches!(err, Error::InvalidKeyId { .. }), "{uri}: {err:?}");
        }
        assert!(KeyId::from_kid("https://abévault.azure.net/keys/k/v1").is_err());
        assert_eq!(
            Cloud::split_host("é.vault.azure.net").map(|s| s.2),
            Some("é")
        );
        assert_eq!(Cloud::split_host("évault.azure.net"), None);
    }

    #[test]
    fn echoed_parts_are_escaped() {
        // A bidi override in a name must not reorder the error line a person reads.
        let text = parse("akv:vault:my\u{202e}vault:rsa1")
            .unwrap_err()
            .to_string();
        assert!(!text.contains('\u{202e}'), "{text}");
        assert!(text.contains("\\u{202e}"), "{text}");
    }

    #[test]
    fn cloud_parse_and_tables() {
        assert_eq!(Cloud::parse("PUBLIC").unwrap(), Cloud::Public);
        assert_eq!(Cloud::parse("china").unwrap(), Cloud::China);
        assert_eq!(Cloud::parse("AzureUSGovernment").unwrap(), Cloud::UsGov);
        let err = Cloud::parse("mars").unwrap_err().to_string();
        assert!(err.contains("cloud") && err.contains("mars"), "{err}");
        assert_eq!(
            Cloud::China.authority_host(),
            "https://login.chinacloudapi.cn"
        );
        assert_eq!(
            Cloud::UsGov.suffix(ServiceKind::ManagedHsm),
            "managedhsm.usgovcloudapi.net"
        );
        assert!(Cloud::is_service_host("x1y.vault.azure.net"));
        assert!(!Cloud::is_service_host("vault.azure.net"));
        assert!(!Cloud::is_service_host("login.microsoftonline.com"));
    }
}
