//! The Host header decides who is being spoken to: a vault or a Managed HSM (and its name) in
//! one of three clouds, an Entra authority host, or nobody in particular (admin only).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cloud {
    Public,
    China,
    UsGov,
}

impl Cloud {
    pub fn suffix(self, managed_hsm: bool) -> &'static str {
        match (self, managed_hsm) {
            (Cloud::Public, false) => "vault.azure.net",
            (Cloud::Public, true) => "managedhsm.azure.net",
            (Cloud::China, false) => "vault.azure.cn",
            (Cloud::China, true) => "managedhsm.azure.cn",
            (Cloud::UsGov, false) => "vault.usgovcloudapi.net",
            (Cloud::UsGov, true) => "managedhsm.usgovcloudapi.net",
        }
    }

    /// The token audience of a service in this cloud: `https://` + its DNS suffix.
    pub fn audience(self, managed_hsm: bool) -> String {
        format!("https://{}", self.suffix(managed_hsm))
    }

    pub fn authority_host(self) -> &'static str {
        match self {
            Cloud::Public => "login.microsoftonline.com",
            Cloud::China => "login.chinacloudapi.cn",
            Cloud::UsGov => "login.microsoftonline.us",
        }
    }

    pub const ALL: [Cloud; 3] = [Cloud::Public, Cloud::China, Cloud::UsGov];
}

/// A vault or Managed HSM as named by a Host header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub cloud: Cloud,
    pub managed_hsm: bool,
    /// Lowercase, as DNS names compare.
    pub vault: String,
}

impl Service {
    pub fn host(&self) -> String {
        format!("{}.{}", self.vault, self.cloud.suffix(self.managed_hsm))
    }

    pub fn audience(&self) -> String {
        self.cloud.audience(self.managed_hsm)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Service(Service),
    /// An Entra authority host: the token endpoint lives here.
    Authority(Cloud),
    /// Anything else (`127.0.0.1`, `localhost`, no Host header).
    Other(String),
    /// A name under a service suffix that is not a valid vault name.
    BadVaultName(String),
}

/// Classifies a Host header value (`name.vault.azure.net`, with or without `:port`).
pub fn classify(host: Option<&str>) -> Host {
    let Some(host) = host else {
        return Host::Other(String::new());
    };
    let name = strip_port(host).trim_end_matches('.').to_ascii_lowercase();
    for cloud in Cloud::ALL {
        if name == cloud.authority_host() {
            return Host::Authority(cloud);
        }
        for managed_hsm in [false, true] {
            let suffix = cloud.suffix(managed_hsm);
            if let Some(label) = name
                .strip_suffix(suffix)
                .and_then(|rest| rest.strip_suffix('.'))
            {
                if !crate::util::valid_name(label, 3, 24) {
                    return Host::BadVaultName(label.to_string());
                }
                return Host::Service(Service {
                    cloud,
                    managed_hsm,
                    vault: label.to_string(),
                });
            }
        }
    }
    Host::Other(name)
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        // [::1]:port
        return host.split(']').next().map(|h| &h[1..]).unwrap_or(host);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_services_in_every_cloud() {
        assert_eq!(
            classify(Some("MyVault.vault.azure.net:8443")),
            Host::Service(Service {
                cloud: Cloud::Public,
                managed_hsm: false,
                vault: "myvault".into()
            })
        );
        assert_eq!(
            classify(Some("hsm1.managedhsm.usgovcloudapi.net")),
            Host::Service(Service {
                cloud: Cloud::UsGov,
                managed_hsm: true,
                vault: "hsm1".into()
            })
        );
        assert_eq!(
            classify(Some("login.chinacloudapi.cn")),
            Host::Authority(Cloud::China)
        );
        assert_eq!(
            classify(Some("127.0.0.1:1234")),
            Host::Other("127.0.0.1".into())
        );
        assert_eq!(
            classify(Some("a.vault.azure.net")),
            Host::BadVaultName("a".into())
        );
        assert_eq!(
            classify(Some("a.b.vault.azure.net")),
            Host::BadVaultName("a.b".into())
        );
    }
}
