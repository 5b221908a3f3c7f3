//! One error type for everything the client does, keeping what the service said.

use crate::keyid::KeyId;

/// Every failure of the client. `Display` is one readable line naming what failed (the key,
/// the host, the setting or the token audience) and the cause, with the service's error code
/// when there is one; no variant ever holds a secret or a token.
#[derive(Debug)]
pub enum Error {
    /// A key URI or key id part is malformed; `reason` names the bad part.
    InvalidKeyId { input: String, reason: String },
    /// A setting has a bad value.
    Config { setting: String, reason: String },
    /// No token could be obtained for `audience`; one entry per credential tried,
    /// `(source, why)`.
    Credential {
        /// The token audience, e.g. `https://vault.azure.net` (empty if unknown).
        audience: String,
        attempts: Vec<(String, String)>,
    },
    /// The service answered with an error status.
    Service {
        status: u16,
        /// `error.code`, e.g. `KeyNotFound`, `Forbidden`, `BadParameter`, `Throttled`.
        code: String,
        /// `error.innererror.code`, e.g. `KeyOperationForbidden`, `KeyDisabled`.
        inner_code: Option<String>,
        message: String,
        /// `x-ms-request-id`
        request_id: Option<String>,
        /// The key the request was about.
        key: Option<Box<KeyId>>,
    },
    /// Connecting, sending or receiving failed (after retries), or the request timed out.
    Transport { host: String, message: String },
    /// The service answered 2xx with a body that is not what the API defines.
    InvalidResponse {
        message: String,
        key: Option<Box<KeyId>>,
    },
    /// The request cannot be expressed (e.g. a digest of the wrong length for the algorithm).
    Unsupported {
        message: String,
        key: Option<Box<KeyId>>,
    },
}

impl Error {
    /// The HTTP status, for service errors.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Service { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The service's error code (`KeyNotFound`, ...), for service errors.
    pub fn service_code(&self) -> Option<&str> {
        match self {
            Error::Service { code, .. } => Some(code),
            _ => None,
        }
    }
}

impl Error {
    /// The key the failed request was about, when there was one.
    pub fn key(&self) -> Option<&KeyId> {
        match self {
            Error::Service { key, .. }
            | Error::InvalidResponse { key, .. }
            | Error::Unsupported { key, .. } => key.as_deref(),
            _ => None,
        }
    }

    /// The `Display` line without the leading `key '<name>' in vault '<vault>': `, for a
    /// caller that names the key itself.
    pub fn detail(&self) -> String {
        Detail(self).to_string()
    }

    pub(crate) fn invalid_response(message: impl Into<String>) -> Error {
        Error::InvalidResponse {
            message: message.into(),
            key: None,
        }
    }

    pub(crate) fn unsupported(message: impl Into<String>) -> Error {
        Error::Unsupported {
            message: message.into(),
            key: None,
        }
    }

    /// Names `id` as the key of a service, response or request error that has none yet.
    pub(crate) fn for_key(mut self, id: &KeyId) -> Error {
        if let Error::Service { key, .. }
        | Error::InvalidResponse { key, .. }
        | Error::Unsupported { key, .. } = &mut self
        {
            key.get_or_insert_with(|| Box::new(id.clone()));
        }
        self
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(key) = self.key() {
            write!(f, "{}: ", key.describe())?;
        }
        Detail(self).fmt(f)
    }
}

/// An error's line without its key.
struct Detail<'a>(&'a Error);

impl std::fmt::Display for Detail<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Error::InvalidKeyId { input, reason } => {
                write!(f, "invalid key id '{input}': {reason}")
            }
            Error::Config { setting, reason } => write!(f, "setting '{setting}': {reason}"),
            Error::Credential { audience, attempts } => {
                write!(f, "no credential could provide a token")?;
                if !audience.is_empty() {
                    write!(f, " for {audience}")?;
                }
                for (i, (source, why)) in attempts.iter().enumerate() {
                    write!(f, "{}{source}: {why}", if i == 0 { ": " } else { "; " })?;
                }
                Ok(())
            }
            Error::Service {
                status,
                code,
                inner_code,
                message,
                request_id,
                ..
            } => {
                write!(f, "service answered {status}")?;
                if !code.is_empty() {
                    write!(f, " {code}")?;
                }
                if let Some(inner) = inner_code {
                    write!(f, " ({inner})")?;
                }
                if !message.is_empty() {
                    write!(f, ": {message}")?;
                }
                if let Some(id) = request_id {
                    write!(f, " [request id {id}]")?;
                }
                Ok(())
            }
            Error::Transport { host, message } => write!(f, "cannot reach {host}: {message}"),
            Error::InvalidResponse { message, .. } => {
                write!(f, "unexpected response from the service: {message}")
            }
            Error::Unsupported { message, .. } => write!(f, "unsupported request: {message}"),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// Whether the service said the key does not exist (404 `KeyNotFound`).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Service { status: 404, .. })
    }

    /// Whether retrying later could succeed (throttling, a server error or a network failure).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Service { status, .. } => *status == 429 || *status >= 500,
            Error::Transport { .. } => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyid::Cloud;

    fn key(uri: &str) -> Option<Box<KeyId>> {
        Some(Box::new(KeyId::parse(uri, Cloud::Public).unwrap()))
    }

    #[test]
    fn service_error_display_names_the_key_and_keeps_status_codes_message_and_request_id() {
        let err = Error::Service {
            status: 403,
            code: "Forbidden".into(),
            inner_code: Some("KeyOperationForbidden".into()),
            message: "Operation decrypt is not permitted on this key.".into(),
            request_id: Some("0d2c4a1e".into()),
            key: key("akv:vault:myvault:rsa1"),
        };
        let detail = "service answered 403 Forbidden (KeyOperationForbidden): Operation decrypt is \
                      not permitted on this key. [request id 0d2c4a1e]";
        assert_eq!(err.detail(), detail);
        assert_eq!(
            err.to_string(),
            format!("key 'rsa1' in vault 'myvault': {detail}")
        );
        assert_eq!(err.status(), Some(403));
        assert_eq!(err.service_code(), Some("Forbidden"));
        assert_eq!(err.key().map(KeyId::name), Some("rsa1"));
        assert!(!err.is_transient());
    }

    #[test]
    fn every_variant_displays_one_line_naming_what_failed() {
        let cases = [
            (
                Error::InvalidKeyId {
                    input: "akv:vault:x".into(),
                    reason: "expected more".into(),
                },
                "invalid key id 'akv:vault:x': expected more",
            ),
            (
                Error::Config {
                    setting: "timeout_ms".into(),
                    reason: "'abc' is not a number".into(),
                },
                "setting 'timeout_ms': 'abc' is not a number",
            ),
            (
                Error::Credential {
                    audience: "https://vault.azure.net".into(),
                    attempts: vec![
                        ("access_token".into(), "not configured".into()),
                        ("azure_cli".into(), "run 'az login'".into()),
                    ],
                },
                "no credential could provide a token for https://vault.azure.net: access_token: \
                 not configured; azure_cli: run 'az login'",
            ),
            (
                Error::Transport {
                    host: "v.vault.azure.net".into(),
                    message: "connection refused".into(),
                },
                "cannot reach v.vault.azure.net: connection refused",
            ),
            (
                Error::InvalidResponse {
                    message: "body is not JSON".into(),
                    key: key("akv:managedHsm:hsm1:k1"),
                },
                "key 'k1' in Managed HSM 'hsm1': unexpected response from the service: body is \
                 not JSON",
            ),
            (
                Error::Unsupported {
                    message: "RS256 takes a 32-byte digest, got 20".into(),
                    key: key("akv:vault:myvault:rsa1"),
                },
                "key 'rsa1' in vault 'myvault': unsupported request: RS256 takes a 32-byte \
                 digest, got 20",
            ),
        ];
        for (err, text) in cases {
            assert_eq!(err.to_string(), text);
            assert!(!err.to_string().contains('\n'));
        }
    }

    #[test]
    fn for_key_names_the_key_once() {
        let id = KeyId::parse("akv:vault:myvault:rsa1", Cloud::Public).unwrap();
        let other = KeyId::parse("akv:vault:myvault:other", Cloud::Public).unwrap();
        let err = Error::unsupported("x").for_key(&id).for_key(&other);
        assert_eq!(err.key(), Some(&id));
        // errors that already name what failed get no key
        let err = Error::Transport {
            host: "h".into(),
            message: "m".into(),
        }
        .for_key(&id);
        assert_eq!(err.key(), None);
    }

    #[test]
    fn throttling_and_transport_errors_are_transient() {
        let throttled = Error::Service {
            status: 429,
            code: "Throttled".into(),
            inner_code: None,
            message: String::new(),
            request_id: None,
            key: None,
        };
        assert!(throttled.is_transient());
        assert_eq!(throttled.to_string(), "service answered 429 Throttled");
    }
}
