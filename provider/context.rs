//! The provider context: what `OSSL_provider_init` creates and `teardown` frees. It holds the
//! settings read at init, and builds the client and the local-crypto library context lazily
//! (DESIGN §6.1: init does no network, starts no thread and cannot fail on a bad setting).

use std::collections::BTreeMap;
use std::ffi::{c_int, c_void};
use std::sync::{Arc, OnceLock};

use akv_client::{Client, Config};

use crate::error::{Error, Reason, Result};
use crate::ffi::{self, OSSL_ALGORITHM, OSSL_CORE_HANDLE, OSSL_ITEM, OSSL_PARAM, names};
use crate::local::LocalCrypto;
use crate::params::ParamsOut;

pub struct ProviderContext {
    handle: *const OSSL_CORE_HANDLE,
    settings: BTreeMap<String, String>,
    client: OnceLock<Result<Arc<Client>>>,
    local: OnceLock<Result<Arc<LocalCrypto>>>,
}

// SAFETY: the core handle is an opaque token only passed back to the core's thread-safe
// upcalls; everything else is Send + Sync.
unsafe impl Send for ProviderContext {}
unsafe impl Sync for ProviderContext {}

impl ProviderContext {
    pub fn new(handle: *const OSSL_CORE_HANDLE, settings: BTreeMap<String, String>) -> Self {
        ProviderContext {
            handle,
            settings,
            client: OnceLock::new(),
            local: OnceLock::new(),
        }
    }

    pub fn handle(&self) -> *const OSSL_CORE_HANDLE {
        self.handle
    }

    /// The one client of this provider context, built on first use from the openssl.cnf
    /// settings and the environment (the environment wins).
    pub fn client(&self) -> Result<Arc<Client>> {
        self.client
            .get_or_init(|| {
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
        self.local
            .get_or_init(|| LocalCrypto::new().map(Arc::new))
            .clone()
    }

    /// Borrows the context behind a `provctx` pointer handed back by OpenSSL.
    ///
    /// # Safety
    /// `provctx` is NULL or the pointer `OSSL_provider_init` returned, not yet torn down.
    pub unsafe fn from_provctx(provctx: *mut c_void) -> Result<Arc<ProviderContext>> {
        if provctx.is_null() {
            return Err(Error::internal("missing provider context"));
        }
        let ptr = provctx as *const ProviderContext;
        // SAFETY: `ptr` came from `Arc::into_raw` in `into_provctx` and is still alive, so
        // taking one more strong reference is sound.
        unsafe {
            Arc::increment_strong_count(ptr);
            Ok(Arc::from_raw(ptr))
        }
    }

    pub fn into_provctx(self: Arc<Self>) -> *mut c_void {
        Arc::into_raw(self) as *mut c_void
    }
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

unsafe extern "C" fn provider_get_params(_provctx: *mut c_void, params: *mut OSSL_PARAM) -> c_int {
    crate::error::boundary("provider_get_params", || {
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
    crate::error::boundary("provider_teardown", || {
        if provctx.is_null() {
            return Ok(());
        }
        // SAFETY: `provctx` is the pointer OSSL_provider_init returned; teardown is called once
        // and gives back the reference init handed out. No network happens here.
        let ctx = unsafe { Arc::from_raw(provctx as *const ProviderContext) };
        crate::error::remove_sink(ctx.handle());
        drop(ctx);
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
