//! The provider context: what `OSSL_provider_init` creates and `teardown` frees. It holds the
//! settings read at init, and builds the client and the local-crypto library context lazily
//! (DESIGN §6.1: init does no network, starts no thread and cannot fail on a bad setting).

use std::collections::BTreeMap;
use std::ffi::{c_int, c_void};
use std::sync::{Arc, OnceLock};

use akv_client::{Client, Config};

use crate::error::{self, CoreErrors, Error, Failure, Reason, Result};
use crate::ffi::{self, OSSL_ALGORITHM, OSSL_ITEM, OSSL_PARAM, names};
use crate::local::LocalCrypto;
use crate::params::ParamsOut;

pub struct ProviderContext {
    /// This instance's error upcalls (one instance per library context that loads akv).
    errors: Option<CoreErrors>,
    settings: BTreeMap<String, String>,
    client: OnceLock<Result<Arc<Client>>>,
    local: OnceLock<Result<Arc<LocalCrypto>>>,
}

impl ProviderContext {
    pub fn new(errors: Option<CoreErrors>, settings: BTreeMap<String, String>) -> Self {
        ProviderContext {
            errors,
            settings,
            client: OnceLock::new(),
            local: OnceLock::new(),
        }
    }

    /// Where this instance's errors go (`error::boundary`).
    pub fn errors(&self) -> Option<&CoreErrors> {
        self.errors.as_ref()
    }

    /// The one client of this provider context, built on first use from the openssl.cnf
    /// settings and the environment (the environment wins).
    pub fn client(&self) -> Result<Arc<Client>> {
        built_once(&self.client, || {
            let config = Config::from_map_and_env(&self.settings)
                .map_err(|e| Error::new(Reason::Config, e.to_string()))?;
            akv_client::logging::init(&config);
            Client::new(config)
                .map(Arc::new)
                .map_err(|e| Error::new(Reason::Config, e.to_string()))
        })
        .clone()
    }

    /// The private library context used for hashing, local verify and local encrypt.
    pub fn local(&self) -> Result<Arc<LocalCrypto>> {
        built_once(&self.local, || LocalCrypto::new().map(Arc::new)).clone()
    }

    /// The context behind a `provctx` pointer handed back by OpenSSL, for the duration of
    /// one call.
    ///
    /// # Safety
    /// `provctx` is NULL or the pointer `OSSL_provider_init` returned, not yet torn down.
    pub unsafe fn borrow<'a>(provctx: *mut c_void) -> Option<&'a ProviderContext> {
        // SAFETY: per the contract, a live `Arc` allocation or NULL.
        unsafe { (provctx as *const ProviderContext).as_ref() }
    }

    /// A strong reference to the context behind `provctx`, for an object that keeps it
    /// (store, key, operation contexts).
    ///
    /// # Safety
    /// As [`ProviderContext::borrow`].
    pub unsafe fn from_provctx(provctx: *mut c_void) -> Result<Arc<ProviderContext>> {
        if provctx.is_null() {
            return Err(Error::internal("missing provider context"));
        }
        // SAFETY: `provctx` came from `Arc::into_raw` in `into_provctx` and is still alive.
        Ok(unsafe { clone_arc(provctx as *const ProviderContext) })
    }

    pub fn into_provctx(self: Arc<Self>) -> *mut c_void {
        Arc::into_raw(self) as *mut c_void
    }
}

/// The value in `cell`, built by `build` on first use. `build` runs outside the cell's lock: a
/// thread that calls `fork()` while another is building (reading files, creating a library
/// context) leaves a child that simply builds again, rather than one that waits forever on a
/// cell inherited mid-initialisation. Threads racing on first use may each build; one value
/// is kept and the others dropped.
pub fn built_once<T>(cell: &OnceLock<T>, build: impl FnOnce() -> T) -> &T {
    if let Some(value) = cell.get() {
        return value;
    }
    let value = build();
    cell.get_or_init(|| value)
}

/// One more strong reference to the `Arc` allocation behind `ptr`; the pointer's own
/// reference stays with whoever holds it (OpenSSL, a store context).
///
/// # Safety
/// `ptr` came from `Arc::into_raw` or `Arc::as_ptr` of an allocation that is still alive.
pub unsafe fn clone_arc<T>(ptr: *const T) -> Arc<T> {
    // SAFETY: per the contract, the allocation is alive, so taking one more reference and
    // adopting it is sound.
    unsafe {
        Arc::increment_strong_count(ptr);
        Arc::from_raw(ptr)
    }
}

// ---------------------------------------------------------------------------------------
// Operation contexts: what `newctx` / `store_open` hand to OpenSSL
// ---------------------------------------------------------------------------------------

/// A boxed Rust value OpenSSL holds as an opaque context (signature, asym cipher, store). It
/// knows the provider instance it belongs to, which is where its errors go.
pub trait OperationCtx: Sized {
    /// For the error raised when OpenSSL passes no context.
    const WHAT: &'static str;

    fn provider(&self) -> &ProviderContext;

    fn into_raw(self) -> *mut c_void {
        Box::into_raw(Box::new(self)) as *mut c_void
    }
}

/// Runs the entry point `function` on the context behind `ctx`, its errors raised to the
/// context's provider instance.
///
/// # Safety
/// `ctx` is NULL or a pointer from [`OperationCtx::into_raw`] of a `C`, not yet freed, and
/// not in use by another call.
pub unsafe fn with_ctx<C: OperationCtx, T: Failure>(
    function: &str,
    ctx: *mut c_void,
    body: impl FnOnce(&mut C) -> Result<T>,
) -> T {
    // SAFETY: per the contract.
    let ctx = unsafe { (ctx as *mut C).as_mut() };
    let errors = ctx.as_ref().and_then(|c| c.provider().errors()).copied();
    error::boundary(function, errors.as_ref(), || {
        body(ctx.ok_or_else(|| Error::internal(format!("{function}: no {}", C::WHAT)))?)
    })
}

/// `newctx` / `open`: a context made by `make` for the instance behind `provctx`.
///
/// # Safety
/// `provctx` is NULL or the pointer `OSSL_provider_init` returned, not yet torn down.
pub unsafe fn new_ctx<C: OperationCtx>(
    function: &str,
    provctx: *mut c_void,
    make: impl FnOnce(Arc<ProviderContext>) -> Result<C>,
) -> *mut c_void {
    // SAFETY: per the contract.
    let errors = unsafe { ProviderContext::borrow(provctx) }.and_then(|p| p.errors());
    error::boundary(function, errors, || {
        // SAFETY: per the contract.
        let provider = unsafe { ProviderContext::from_provctx(provctx) }?;
        Ok(make(provider)?.into_raw())
    })
}

/// `freectx` / `close`.
///
/// # Safety
/// As [`with_ctx`]; OpenSSL frees each context once.
pub unsafe fn free_ctx<C: OperationCtx>(function: &str, ctx: *mut c_void) {
    error::boundary(function, None, || {
        if !ctx.is_null() {
            // SAFETY: per the contract, a Box made by `into_raw`.
            drop(unsafe { Box::from_raw(ctx as *mut C) });
        }
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------
// Provider entry points (the dispatch table returned by OSSL_provider_init)
// ---------------------------------------------------------------------------------------

pub const NAME: &std::ffi::CStr = c"akv";
pub const VERSION: &std::ffi::CStr = {
    match std::ffi::CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(s) => s,
        Err(_) => c"unknown",
    }
};
pub const BUILDINFO: &std::ffi::CStr = {
    match std::ffi::CStr::from_bytes_with_nul(
        concat!(
            "akv ",
            env!("CARGO_PKG_VERSION"),
            " (Azure Key Vault and Managed HSM keys; Rust provider)\0"
        )
        .as_bytes(),
    ) {
        Ok(s) => s,
        Err(_) => c"akv",
    }
};

static GETTABLE_PARAMS: [OSSL_PARAM; 5] = [
    OSSL_PARAM::describe(names::PROV_NAME, ffi::OSSL_PARAM_UTF8_PTR),
    OSSL_PARAM::describe(names::PROV_VERSION, ffi::OSSL_PARAM_UTF8_PTR),
    OSSL_PARAM::describe(names::PROV_BUILDINFO, ffi::OSSL_PARAM_UTF8_PTR),
    OSSL_PARAM::describe(names::PROV_STATUS, ffi::OSSL_PARAM_INTEGER),
    OSSL_PARAM::END,
];

unsafe extern "C" fn provider_gettable_params(_provctx: *mut c_void) -> *const OSSL_PARAM {
    GETTABLE_PARAMS.as_ptr()
}

unsafe extern "C" fn provider_get_params(provctx: *mut c_void, params: *mut OSSL_PARAM) -> c_int {
    // SAFETY: OpenSSL passes our provctx.
    let errors = unsafe { ProviderContext::borrow(provctx) }.and_then(|p| p.errors());
    crate::error::boundary("provider_get_params", errors, || {
        // SAFETY: OpenSSL hands us an END-terminated, writable array.
        let out = unsafe { ParamsOut::new(params) };
        out.set_str(names::PROV_NAME, NAME)?;
        out.set_str(names::PROV_VERSION, VERSION)?;
        out.set_str(names::PROV_BUILDINFO, BUILDINFO)?;
        out.set_int(names::PROV_STATUS, 1)?;
        Ok(1)
    })
}

unsafe extern "C" fn provider_query_operation(
    _provctx: *mut c_void,
    operation_id: c_int,
    no_store: *mut c_int,
) -> *const OSSL_ALGORITHM {
    if !no_store.is_null() {
        // SAFETY: OpenSSL passes a valid int pointer; our tables are static, so cacheable.
        unsafe { *no_store = 0 };
    }
    match operation_id {
        ffi::OSSL_OP_STORE => crate::store::ALGORITHMS.as_ptr(),
        ffi::OSSL_OP_KEYMGMT => crate::keymgmt::ALGORITHMS.as_ptr(),
        ffi::OSSL_OP_SIGNATURE => crate::signature::ALGORITHMS.as_ptr(),
        ffi::OSSL_OP_ASYM_CIPHER => crate::asym_cipher::ALGORITHMS.as_ptr(),
        _ => std::ptr::null(),
    }
}

unsafe extern "C" fn provider_get_reason_strings(_provctx: *mut c_void) -> *const OSSL_ITEM {
    crate::error::REASON_STRINGS.as_ptr()
}

unsafe extern "C" fn provider_teardown(provctx: *mut c_void) {
    crate::error::boundary("provider_teardown", None, || {
        if !provctx.is_null() {
            // SAFETY: `provctx` is the pointer OSSL_provider_init returned; teardown is called
            // once and gives back the reference init handed out. The last store, key or
            // operation context of this instance is gone by now (each holds a reference to
            // the provider OpenSSL counts), so this frees it. No network happens here.
            drop(unsafe { Arc::from_raw(provctx as *const ProviderContext) });
        }
        Ok(())
    })
}

pub static DISPATCH: [ffi::OSSL_DISPATCH; 6] = [
    ffi::dispatch_provider_teardown(provider_teardown),
    ffi::dispatch_provider_gettable_params(provider_gettable_params),
    ffi::dispatch_provider_get_params(provider_get_params),
    ffi::dispatch_provider_query_operation(provider_query_operation),
    ffi::dispatch_provider_get_reason_strings(provider_get_reason_strings),
    ffi::OSSL_DISPATCH::END,
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn built_once_keeps_the_first_value_built() {
        let cell = OnceLock::new();
        assert_eq!(*built_once(&cell, || 1), 1);
        assert_eq!(*built_once(&cell, || 2), 1);
    }

    /// A thread is inside `build` when another thread forks: the child must build its own
    /// value instead of waiting for a thread that does not exist in it.
    #[test]
    fn a_child_forked_while_another_thread_builds_does_not_wait_for_it() {
        let cell: &'static OnceLock<u32> = Box::leak(Box::new(OnceLock::new()));
        let (entered_tx, entered_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let builder = std::thread::spawn(move || {
            *built_once(cell, || {
                entered_tx.send(()).unwrap();
                release_rx.recv().unwrap();
                1
            })
        });
        entered_rx.recv().unwrap();
        // SAFETY: the child only reads the cell, builds a plain value and exits.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            let value = *built_once(cell, || 2);
            // SAFETY: leave the forked test process at once.
            unsafe { libc::_exit(if value == 2 { 0 } else { 1 }) };
        }
        let (status_tx, status_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut status = 0;
            // SAFETY: our own child.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            let _ = status_tx.send(status);
        });
        let status = status_rx.recv_timeout(Duration::from_secs(20));
        if status.is_err() {
            // SAFETY: our own child, still running.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        release_tx.send(()).unwrap();
        assert_eq!(builder.join().unwrap(), 1);
        let status = status.expect("the forked child hung on the inherited cell");
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    }
}
