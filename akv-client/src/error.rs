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
        let _ = f;
        todo!()
    }
}

impl std::error::Error for Error {}
