//! One error type for everything the client does, keeping what the service said.

/// Every failure of the client. `Display` is one readable line naming the key or setting and
/// the cause (with the service's error code when there is one); no variant ever holds a
/// secret or a token.
#[derive(Debug)]
pub enum Error {
    /// A key URI or key id part is malformed; `reason` names the bad part.
    InvalidKeyId { input: String, reason: String },
    /// A setting has a bad value.
    Config { setting: String, reason: String },
    /// No token could be obtained; one entry per credential tried, `(source, why)`.
    Credential { attempts: Vec<(String, String)> },
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
    },
    /// Connecting, sending or receiving failed (after retries), or the request timed out.
    Transport { host: String, message: String },
    /// The service answered 2xx with a body that is not what the API defines.
    InvalidResponse { message: String },
    /// The request cannot be expressed (e.g. a digest of the wrong length for the algorithm).
    Unsupported { message: String },
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

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::InvalidKeyId { input, reason } => {
                write!(f, "invalid key id '{input}': {reason}")
            }
            Error::Config { setting, reason } => write!(f, "setting '{setting}': {reason}"),
            Error::Credential { attempts } => {
                if attempts.is_empty() {
                    return write!(f, "no credential could provide a token");
                }
                write!(f, "no credential could provide a token: ")?;
                for (i, (source, why)) in attempts.iter().enumerate() {
                    if i > 0 {
                        write!(f, "; ")?;
                    }
                    write!(f, "{source}: {why}")?;
                }
                Ok(())
            }
            Error::Service {
                status,
                code,
                inner_code,
                message,
                request_id,
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
            Error::InvalidResponse { message } => {
                write!(f, "unexpected response from the service: {message}")
            }
            Error::Unsupported { message } => write!(f, "unsupported request: {message}"),
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

    #[test]
    fn service_error_display_keeps_status_codes_message_and_request_id() {
        let err = Error::Service {
            status: 403,
            code: "Forbidden".into(),
            inner_code: Some("KeyOperationForbidden".into()),
            message: "Operation decrypt is not permitted on this key.".into(),
            request_id: Some("0d2c4a1e".into()),
        };
        assert_eq!(
            err.to_string(),
            "service answered 403 Forbidden (KeyOperationForbidden): Operation decrypt is not \
             permitted on this key. [request id 0d2c4a1e]"
        );
        assert_eq!(err.status(), Some(403));
        assert_eq!(err.service_code(), Some("Forbidden"));
        assert!(!err.is_transient());
    }

    #[test]
    fn other_variants_display_one_readable_line() {
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
                    attempts: vec![
                        ("access_token".into(), "not configured".into()),
                        ("azure_cli".into(), "run 'az login'".into()),
                    ],
                },
                "no credential could provide a token: access_token: not configured; azure_cli: \
                 run 'az login'",
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
                },
                "unexpected response from the service: body is not JSON",
            ),
            (
                Error::Unsupported {
                    message: "RS256 takes a 32-byte digest, got 20".into(),
                },
                "unsupported request: RS256 takes a 32-byte digest, got 20",
            ),
        ];
        for (err, text) in cases {
            assert_eq!(err.to_string(), text);
            assert!(!err.to_string().contains('\n'));
        }
    }

    #[test]
    fn throttling_and_transport_errors_are_transient() {
        let throttled = Error::Service {
            status: 429,
            code: "Throttled".into(),
            inner_code: None,
            message: String::new(),
            request_id: None,
        };
        assert!(throttled.is_transient());
        assert_eq!(throttled.to_string(), "service answered 429 Throttled");
    }
}
