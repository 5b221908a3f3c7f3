//! Errors: one type for every failure inside the provider, mapped once to OpenSSL reason
//! codes, raised into OpenSSL's error queue through the core's upcalls, and the one panic
//! boundary that every `extern "C"` entry point goes through.

use std::ffi::{CString, c_char, c_int, c_void};
use std::panic::{AssertUnwindSafe, Location, catch_unwind};

use akv_client::KeyId;

use crate::ffi::{
    self, OSSL_CORE_HANDLE, OSSL_ITEM, core_new_error_fn, core_set_error_debug_fn,
    core_vset_error_fn,
};

/// Reason codes, with the strings OpenSSL prints for them (`get_reason_strings`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Reason {
    InvalidUri = 1,
    KeyNotFound = 2,
    ServiceError = 3,
    OperationNotPermitted = 4,
    Authentication = 5,
    Connection = 6,
    Unsupported = 7,
    Config = 8,
    InvalidArgument = 9,
    Internal = 10,
    LocalCrypto = 11,
    InvalidResponse = 12,
    Throttled = 13,
}

/// `OSSL_ITEM` table for `OSSL_FUNC_PROVIDER_GET_REASON_STRINGS`.
pub static REASON_STRINGS: [OSSL_ITEM; 14] = [
    reason_item(Reason::InvalidUri, c"invalid key URI"),
    reason_item(Reason::KeyNotFound, c"key not found"),
    reason_item(Reason::ServiceError, c"key vault service error"),
    reason_item(
        Reason::OperationNotPermitted,
        c"operation not permitted on this key",
    ),
    reason_item(
        Reason::Authentication,
        c"could not get an Azure access token",
    ),
    reason_item(Reason::Connection, c"could not reach the key vault service"),
    reason_item(Reason::Unsupported, c"unsupported algorithm or parameter"),
    reason_item(Reason::Config, c"invalid akv provider configuration"),
    reason_item(Reason::InvalidArgument, c"invalid argument"),
    reason_item(Reason::Internal, c"internal error in the akv provider"),
    reason_item(Reason::LocalCrypto, c"local public-key operation failed"),
    reason_item(
        Reason::InvalidResponse,
        c"invalid response from the key vault service",
    ),
    reason_item(
        Reason::Throttled,
        c"request throttled by the key vault service",
    ),
    OSSL_ITEM {
        id: 0,
        ptr: std::ptr::null_mut(),
    },
];

const fn reason_item(reason: Reason, text: &'static std::ffi::CStr) -> OSSL_ITEM {
    OSSL_ITEM {
        id: reason as u32,
        ptr: text.as_ptr() as *mut c_void,
    }
}

/// A failure inside the provider: the reason code, one line a person can act on (naming the
/// key and the cause), and where in our source it was made (the file and line OpenSSL prints
/// with the error). Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub reason: Reason,
    pub message: String,
    pub location: &'static Location<'static>,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    #[track_caller]
    pub fn new(reason: Reason, message: impl Into<String>) -> Error {
        Error {
            reason,
            message: message.into(),
            location: Location::caller(),
        }
    }

    #[track_caller]
    pub fn unsupported(message: impl Into<String>) -> Error {
        Error::new(Reason::Unsupported, message)
    }

    #[track_caller]
    pub fn invalid_argument(message: impl Into<String>) -> Error {
        Error::new(Reason::InvalidArgument, message)
    }

    #[track_caller]
    pub fn internal(message: impl Into<String>) -> Error {
        Error::new(Reason::Internal, message)
    }

    /// Maps a client error for an operation (`"load"`, `"sign"`, `"decrypt"`) on `key`.
    #[track_caller]
    pub fn from_client(op: &str, key: &KeyId, err: &akv_client::Error) -> Error {
        use akv_client::Error as E;
        let key_desc = key.describe();
        match err {
            E::InvalidKeyId { .. } => Error::new(Reason::InvalidUri, err.to_string()),
            E::Config { .. } => Error::new(Reason::Config, err.to_string()),
            E::Credential { .. } => Error::new(
                Reason::Authentication,
                format!("{op} with {key_desc}: {err}"),
            ),
            E::Service {
                status,
                code,
                inner_code,
                message,
                ..
            } => {
                let codes = match inner_code {
                    Some(inner) if inner != code => format!("{code}/{inner}"),
                    _ => code.clone(),
                };
                let reason = match (*status, code.as_str()) {
                    (404, _) | (_, "KeyNotFound") => Reason::KeyNotFound,
                    (403, _) | (_, "Forbidden") => Reason::OperationNotPermitted,
                    (401, _) => Reason::Authentication,
                    (429, _) | (_, "Throttled") => Reason::Throttled,
                    _ => Reason::ServiceError,
                };
                let text = match reason {
                    // The service's text adds only recovery advice; the code says it all.
                    Reason::KeyNotFound => format!("{key_desc} not found ({codes})"),
                    Reason::OperationNotPermitted => {
                        format!("{op} not permitted on {key_desc} ({codes}): {message}")
                    }
                    _ => format!("{op} with {key_desc} failed: HTTP {status} {codes}: {message}"),
                };
                Error::new(reason, text)
            }
            E::Transport { .. } => {
                Error::new(Reason::Connection, format!("{op} with {key_desc}: {err}"))
            }
            // The client's own line names the key already when it knows it.
            E::InvalidResponse { .. } => Error::new(
                Reason::InvalidResponse,
                format!("{op} with {key_desc}: {}", err.detail()),
            ),
            E::Unsupported { .. } => Error::new(
                Reason::Unsupported,
                format!("{op} with {key_desc}: {}", err.detail()),
            ),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "akv: {}", self.message)
    }
}

// ---------------------------------------------------------------------------------------
// Raising into OpenSSL's error queue
// ---------------------------------------------------------------------------------------

/// The core's error upcalls of one provider instance, as its `OSSL_provider_init` received
/// them. Each instance (one per library context that loads akv) keeps its own in its provider
/// context, and every store, key and operation context of that instance reaches them from
/// there: no global, no lock, nothing a second instance or a forked child can disturb.
#[derive(Clone, Copy)]
pub struct CoreErrors {
    handle: *const OSSL_CORE_HANDLE,
    new_error: core_new_error_fn,
    set_error_debug: core_set_error_debug_fn,
    vset_error: core_vset_error_fn,
}

// SAFETY: the handle is only passed back to the core's own thread-safe error functions, and
// only while its instance is loaded (the provider context holding this value is alive).
unsafe impl Send for CoreErrors {}
unsafe impl Sync for CoreErrors {}

unsafe extern "C" {
    /// provider/shim.c
    fn akv_shim_set_error(
        vset_error: ffi::GenericFn,
        prov: *const OSSL_CORE_HANDLE,
        reason: u32,
        message: *const c_char,
    );
}

impl CoreErrors {
    /// `None` unless the core offered all three upcalls.
    pub fn new(
        handle: *const OSSL_CORE_HANDLE,
        new_error: Option<core_new_error_fn>,
        set_error_debug: Option<core_set_error_debug_fn>,
        vset_error: Option<core_vset_error_fn>,
    ) -> Option<CoreErrors> {
        Some(CoreErrors {
            handle,
            new_error: new_error?,
            set_error_debug: set_error_debug?,
            vset_error: vset_error?,
        })
    }

    /// Puts `err` on the calling thread's OpenSSL error queue, attributed to the entry point
    /// `function` and to the line of our source that made the error.
    fn raise(&self, function: &str, err: &Error) {
        let message = CString::new(err.message.replace('\0', " ")).unwrap_or_default();
        let function = CString::new(function).unwrap_or_default();
        let file = CString::new(err.location.file()).unwrap_or_default();
        let line = c_int::try_from(err.location.line()).unwrap_or(0);
        // SAFETY: the upcalls come from the core's dispatch table for this handle, whose
        // instance is loaded; every string is NUL-terminated and outlives the calls, which
        // copy what they keep.
        unsafe {
            (self.new_error)(self.handle);
            (self.set_error_debug)(self.handle, file.as_ptr(), line, function.as_ptr());
            akv_shim_set_error(
                self.vset_error,
                self.handle,
                err.reason as u32,
                message.as_ptr(),
            );
        }
    }
}

/// Reports `err` from the entry point `function`: to the log, and to OpenSSL through
/// `errors`, the upcalls of the instance the call belongs to (`None` when no instance can be
/// named, e.g. for a key reference that is not ours).
pub fn raise(function: &str, errors: Option<&CoreErrors>, err: &Error) {
    tracing::debug!(function, "{err}");
    if let Some(errors) = errors {
        errors.raise(function, err);
    }
}

// ---------------------------------------------------------------------------------------
// The panic boundary
// ---------------------------------------------------------------------------------------

/// What an entry point returns to OpenSSL when it fails.
pub trait Failure {
    fn failure() -> Self;
}

impl Failure for c_int {
    fn failure() -> Self {
        0
    }
}

impl Failure for () {
    fn failure() -> Self {}
}

impl<T> Failure for *mut T {
    fn failure() -> Self {
        std::ptr::null_mut()
    }
}

impl<T> Failure for *const T {
    fn failure() -> Self {
        std::ptr::null()
    }
}

/// Runs the body of the `extern "C"` entry point `function`: an `Err` is raised through
/// `errors` (the upcalls of the provider instance the call belongs to) and a panic is caught
/// and raised as an internal error; both return the entry point's failure value. Nothing
/// unwinds into C.
pub fn boundary<T: Failure>(
    function: &str,
    errors: Option<&CoreErrors>,
    body: impl FnOnce() -> Result<T>,
) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(value)) => value,
        Ok(Err(err)) => {
            raise(function, errors, &err);
            T::failure()
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            raise(
                function,
                errors,
                &Error::internal(format!("internal error in {function}: {what}")),
            );
            T::failure()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundary_turns_a_panic_into_the_failure_value() {
        let ret: c_int = boundary("test", None, || -> Result<c_int> { panic!("boom") });
        assert_eq!(ret, 0);
        let ptr: *mut u8 = boundary("test", None, || -> Result<*mut u8> { panic!("boom") });
        assert!(ptr.is_null());
    }

    #[test]
    fn boundary_passes_success_through() {
        assert_eq!(boundary("test", None, || Ok(1 as c_int)), 1);
    }

    #[test]
    fn reason_table_is_terminated_and_ids_are_unique() {
        let last = REASON_STRINGS.last().unwrap();
        assert_eq!(last.id, 0);
        assert!(last.ptr.is_null());
        let mut ids: Vec<u32> = REASON_STRINGS[..REASON_STRINGS.len() - 1]
            .iter()
            .map(|i| i.id)
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), REASON_STRINGS.len() - 1);
    }
}
