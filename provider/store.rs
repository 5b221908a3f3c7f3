//! The OSSL_STORE loader for `akv:` and `managedhsm:` URIs (DESIGN §2, §6.2).
//!
//! `open` only parses and validates the URI; `load` makes the one GET, pins the version the
//! service returned, and hands OpenSSL a PKEY object by reference. `eof` is true after the
//! key was handed out and after any error, so loops like nginx's always end.

use std::ffi::{CStr, c_char, c_int, c_void};
use std::sync::Arc;

use akv_client::KeyId;

use crate::context::{self, OperationCtx, ProviderContext, with_ctx};
use crate::error::{Error, Reason, Result};
use crate::ffi::{
    self, OSSL_ALGORITHM, OSSL_CALLBACK, OSSL_DISPATCH, OSSL_PARAM, OSSL_PASSPHRASE_CALLBACK, names,
};
use crate::key::{AkvKey, KeyReference};
use crate::params::ParamBuilder;

enum State {
    /// Parsed; nothing fetched yet.
    Ready,
    /// The key was handed out (kept alive for the reference until `close`).
    Loaded(#[allow(dead_code)] Arc<AkvKey>),
    /// Loading failed; nothing more will come.
    Failed,
}

pub struct StoreCtx {
    provider: Arc<ProviderContext>,
    id: KeyId,
    state: State,
}

impl StoreCtx {
    fn open(provider: Arc<ProviderContext>, uri: &str) -> Result<StoreCtx> {
        let client = provider.client()?;
        let id = KeyId::parse(uri, client.config().cloud)
            // The client's message quotes the URI (escaped, shortened) and names the bad part.
            .map_err(|e| Error::new(Reason::InvalidUri, e.to_string()))?;
        Ok(StoreCtx {
            provider,
            id,
            state: State::Ready,
        })
    }

    fn fetch(&self) -> Result<Arc<AkvKey>> {
        let client = self.provider.client()?;
        let key = client
            .get_key(&self.id)
            .map_err(|e| Error::from_client("load", &self.id, &e))?;
        tracing::debug!(kid = %key.kid, "akv: key loaded");
        Ok(Arc::new(AkvKey::new(self.provider.clone(), client, key)?))
    }

    fn load(&mut self, object_cb: OSSL_CALLBACK, cbarg: *mut c_void) -> Result<c_int> {
        if !matches!(self.state, State::Ready) {
            return Ok(0);
        }
        let key = match self.fetch() {
            Ok(key) => key,
            Err(err) => {
                self.state = State::Failed;
                return Err(err);
            }
        };
        let reference = KeyReference::new(&key);
        let data_type = key.data_type().to_str().unwrap_or("RSA");
        let mut params = ParamBuilder::new()
            .int(names::OBJECT_TYPE, ffi::OSSL_OBJECT_PKEY)
            .utf8(names::OBJECT_DATA_TYPE, data_type)
            .octets(names::OBJECT_REFERENCE, reference.as_bytes());
        // The reference stays valid until close(): keep the key.
        self.state = State::Loaded(key);
        // SAFETY: `object_cb` is OpenSSL's callback for this load; `params` outlives the call.
        // No lock of ours is held while it runs.
        let rc = unsafe { object_cb(params.build(), cbarg) };
        Ok(rc)
    }
}

impl OperationCtx for StoreCtx {
    const WHAT: &'static str = "store context";

    fn provider(&self) -> &ProviderContext {
        &self.provider
    }
}

unsafe extern "C" fn store_open(provctx: *mut c_void, uri: *const c_char) -> *mut c_void {
    // SAFETY: OpenSSL passes our provctx and NULL or a NUL-terminated URI.
    unsafe {
        context::new_ctx("store_open", provctx, |provider| {
            if uri.is_null() {
                return Err(Error::new(Reason::InvalidUri, "no URI given"));
            }
            StoreCtx::open(provider, &CStr::from_ptr(uri).to_string_lossy())
        })
    }
}

unsafe extern "C" fn store_load(
    loaderctx: *mut c_void,
    object_cb: Option<OSSL_CALLBACK>,
    object_cbarg: *mut c_void,
    _pw_cb: Option<OSSL_PASSPHRASE_CALLBACK>,
    _pw_cbarg: *mut c_void,
) -> c_int {
    // SAFETY: `loaderctx` is ours from store_open, not yet closed.
    unsafe {
        with_ctx("store_load", loaderctx, |ctx: &mut StoreCtx| {
            let Some(object_cb) = object_cb else {
                ctx.state = State::Failed;
                return Err(Error::internal("store_load: no object callback"));
            };
            ctx.load(object_cb, object_cbarg)
        })
    }
}

unsafe extern "C" fn store_eof(loaderctx: *mut c_void) -> c_int {
    // SAFETY: as in store_load. Without a context there is nothing (more) to load.
    if loaderctx.is_null() {
        return 1;
    }
    unsafe {
        with_ctx("store_eof", loaderctx, |ctx: &mut StoreCtx| {
            Ok(c_int::from(!matches!(ctx.state, State::Ready)))
        })
    }
}

unsafe extern "C" fn store_close(loaderctx: *mut c_void) -> c_int {
    // SAFETY: ours from store_open; OpenSSL closes it once.
    unsafe { context::free_ctx::<StoreCtx>("store_close", loaderctx) };
    1
}

static SETTABLE_CTX_PARAMS: [OSSL_PARAM; 4] = [
    OSSL_PARAM::describe(names::STORE_EXPECT, ffi::OSSL_PARAM_INTEGER),
    OSSL_PARAM::describe(names::STORE_PROPERTIES, ffi::OSSL_PARAM_UTF8_STRING),
    OSSL_PARAM::describe(names::STORE_INPUT_TYPE, ffi::OSSL_PARAM_UTF8_STRING),
    OSSL_PARAM::END,
];

unsafe extern "C" fn store_settable_ctx_params(_provctx: *mut c_void) -> *const OSSL_PARAM {
    SETTABLE_CTX_PARAMS.as_ptr()
}

/// Accepts and ignores every parameter: OpenSSL 3.0 calls this unconditionally with
/// `input-type`, `properties`, `expect`, and fails the whole open if it returns 0.
unsafe extern "C" fn store_set_ctx_params(
    _loaderctx: *mut c_void,
    _params: *const OSSL_PARAM,
) -> c_int {
    1
}

pub static DISPATCH: [OSSL_DISPATCH; 7] = [
    ffi::dispatch_store_open(store_open),
    ffi::dispatch_store_load(store_load),
    ffi::dispatch_store_eof(store_eof),
    ffi::dispatch_store_close(store_close),
    ffi::dispatch_store_settable_ctx_params(store_settable_ctx_params),
    ffi::dispatch_store_set_ctx_params(store_set_ctx_params),
    OSSL_DISPATCH::END,
];

/// The store's names are the URI schemes it serves.
pub static ALGORITHMS: [OSSL_ALGORITHM; 3] = [
    OSSL_ALGORITHM::new(c"akv", &DISPATCH),
    OSSL_ALGORITHM::new(c"managedhsm", &DISPATCH),
    OSSL_ALGORITHM::END,
];

#[cfg(test)]
mod tests {
    use super::*;

    /// DESIGN §6.2: no `export_object`: OpenSSL would import the exported public half into
    /// another provider's keymgmt and hand the application a key that cannot sign.
    #[test]
    fn store_has_no_export_object_and_has_set_ctx_params() {
        const EXPORT_OBJECT: i32 = 8;
        let ids: Vec<i32> = DISPATCH.iter().map(|e| e.function_id).collect();
        assert!(!ids.contains(&EXPORT_OBJECT));
        assert!(ids.contains(&ffi::OSSL_FUNC_STORE_SET_CTX_PARAMS));
    }
}
