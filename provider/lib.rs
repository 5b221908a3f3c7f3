//! akv: an OpenSSL 3 provider for RSA and EC keys held in Azure Key Vault and Azure Managed
//! HSM. The private key never leaves the service: the provider keeps a reference, the pinned
//! key version and the public key, hashes locally and makes one REST call per private-key
//! operation.
//!
//! The data path, one file per step: `store` (URI → key load) → `key` (public half + pinned
//! kid, the reference handed to OpenSSL) → `keymgmt` (what OpenSSL asks about the key) →
//! `signature` / `asym_cipher` (operation context → one call through `akv_client`).
//! `context` is one provider instance (settings, client, error upcalls) and the operation
//! contexts handed to OpenSSL; `ffi` holds the hand-written OpenSSL bindings, `params` and
//! `buffers` the one place each that reads OpenSSL's parameter arrays and byte buffers,
//! `error` the reason strings and the one panic boundary, `local` the libcrypto calls for
//! hashing, verify and encrypt.

// The provider links the system libcrypto; openssl-sys brings the link flags.
extern crate openssl_sys;

pub mod asym_cipher;
pub mod buffers;
pub mod config;
pub mod context;
pub mod der;
pub mod digest;
pub mod error;
pub mod ffi;
pub mod key;
pub mod keymgmt;
pub mod local;
pub mod params;
pub mod signature;
pub mod store;

use std::ffi::{c_int, c_void};
use std::sync::Arc;

use ffi::{
    OSSL_CORE_HANDLE, OSSL_DISPATCH, core_get_params_fn, core_new_error_fn, core_set_error_debug_fn,
};

/// The module's only exported symbol (provider/akv.map). Cheap: reads the provider's
/// openssl.cnf section and the core's error upcalls; no network, no threads.
///
/// # Safety
/// Called by OpenSSL with its core handle and dispatch table, as `provider(7)` describes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn OSSL_provider_init(
    handle: *const OSSL_CORE_HANDLE,
    core_in: *const OSSL_DISPATCH,
    out: *mut *const OSSL_DISPATCH,
    provctx: *mut *mut c_void,
) -> c_int {
    let mut get_params: Option<core_get_params_fn> = None;
    let mut new_error: Option<core_new_error_fn> = None;
    let mut set_error_debug: Option<core_set_error_debug_fn> = None;
    let mut vset_error: Option<ffi::core_vset_error_fn> = None;
    let mut entry = core_in;
    // SAFETY: `core_in` is the core's dispatch table, terminated by function_id 0; each
    // function is cast back to the signature core_dispatch.h declares for its id.
    unsafe {
        while !entry.is_null() && (*entry).function_id != 0 {
            let f = (*entry).function;
            match (*entry).function_id {
                ffi::OSSL_FUNC_CORE_GET_PARAMS => {
                    get_params = f.map(|f| std::mem::transmute::<ffi::GenericFn, _>(f))
                }
                ffi::OSSL_FUNC_CORE_NEW_ERROR => {
                    new_error = f.map(|f| std::mem::transmute::<ffi::GenericFn, _>(f))
                }
                ffi::OSSL_FUNC_CORE_SET_ERROR_DEBUG => {
                    set_error_debug = f.map(|f| std::mem::transmute::<ffi::GenericFn, _>(f))
                }
                ffi::OSSL_FUNC_CORE_VSET_ERROR => vset_error = f,
                _ => {}
            }
            entry = entry.add(1);
        }
    }
    let errors = error::CoreErrors::new(handle, new_error, set_error_debug, vset_error);
    error::boundary("OSSL_provider_init", errors.as_ref(), || {
        if out.is_null() || provctx.is_null() {
            return Err(error::Error::internal(
                "OSSL_provider_init: NULL out argument",
            ));
        }
        // SAFETY: `handle` and `get_params` come straight from the core.
        let settings = unsafe { config::read_settings(handle, get_params) };
        let ctx = Arc::new(context::ProviderContext::new(errors, settings));
        // SAFETY: both out pointers were checked non-NULL above.
        unsafe {
            *out = context::DISPATCH.as_ptr();
            *provctx = ctx.into_provctx();
        }
        Ok(1)
    })
}
