//! Hand-written bindings for the OpenSSL 3 provider interface.
//!
//! Checked against /usr/include/openssl/core.h, core_dispatch.h, core_names.h and
//! core_object.h of OpenSSL 3.0 (every number and name below is the same in later 3.x).
//! Dispatch entries are built through the typed `dispatch_*` constructors at the end of
//! this file, so a callback with the wrong signature does not compile.

#![allow(non_camel_case_types)]

use std::ffi::{CStr, c_char, c_int, c_uint, c_void};

// ---------------------------------------------------------------------------------------
// core.h
// ---------------------------------------------------------------------------------------

macro_rules! opaque {
    ($($(#[$doc:meta])* $name:ident),*) => {
        $(
            $(#[$doc])*
            #[repr(C)]
            pub struct $name {
                _private: [u8; 0],
            }
        )*
    };
}

opaque!(
    /// The core's handle for one provider instance.
    OSSL_CORE_HANDLE,
    /// libcrypto's library context.
    OSSL_LIB_CTX,
    OSSL_PROVIDER,
    EVP_MD,
    EVP_MD_CTX,
    EVP_PKEY,
    EVP_PKEY_CTX
);

/// `void (*function)(void)`: the erased type every dispatch entry is stored as.
pub type GenericFn = unsafe extern "C" fn();

#[repr(C)]
#[derive(Clone, Copy)]
pub struct OSSL_DISPATCH {
    pub function_id: c_int,
    pub function: Option<GenericFn>,
}

// SAFETY: dispatch tables are immutable statics of function pointers.
unsafe impl Sync for OSSL_DISPATCH {}

impl OSSL_DISPATCH {
    pub const END: OSSL_DISPATCH = OSSL_DISPATCH {
        function_id: 0,
        function: None,
    };
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct OSSL_ITEM {
    pub id: c_uint,
    pub ptr: *mut c_void,
}

// SAFETY: only used for immutable statics pointing at string literals.
unsafe impl Sync for OSSL_ITEM {}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct OSSL_ALGORITHM {
    pub algorithm_names: *const c_char,
    pub property_definition: *const c_char,
    pub implementation: *const OSSL_DISPATCH,
    pub algorithm_description: *const c_char,
}

// SAFETY: only used for immutable statics pointing at literals and static tables.
unsafe impl Sync for OSSL_ALGORITHM {}

impl OSSL_ALGORITHM {
    pub const fn new(names: &'static CStr, dispatch: &'static [OSSL_DISPATCH]) -> Self {
        OSSL_ALGORITHM {
            algorithm_names: names.as_ptr(),
            property_definition: PROPERTIES.as_ptr(),
            implementation: dispatch.as_ptr(),
            algorithm_description: std::ptr::null(),
        }
    }

    pub const END: OSSL_ALGORITHM = OSSL_ALGORITHM {
        algorithm_names: std::ptr::null(),
        property_definition: std::ptr::null(),
        implementation: std::ptr::null(),
        algorithm_description: std::ptr::null(),
    };
}

/// The property definition of every algorithm this provider registers.
pub const PROPERTIES: &CStr = c"provider=akv";

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct OSSL_PARAM {
    pub key: *const c_char,
    pub data_type: c_uint,
    pub data: *mut c_void,
    pub data_size: usize,
    pub return_size: usize,
}

// SAFETY: only shared as immutable static descriptor lists (data pointers are null).
unsafe impl Sync for OSSL_PARAM {}

pub const OSSL_PARAM_INTEGER: c_uint = 1;
pub const OSSL_PARAM_UNSIGNED_INTEGER: c_uint = 2;
pub const OSSL_PARAM_UTF8_STRING: c_uint = 4;
pub const OSSL_PARAM_OCTET_STRING: c_uint = 5;
pub const OSSL_PARAM_UTF8_PTR: c_uint = 6;
pub const OSSL_PARAM_OCTET_PTR: c_uint = 7;

/// `OSSL_PARAM_UNMODIFIED`
pub const OSSL_PARAM_UNMODIFIED: usize = usize::MAX;

impl OSSL_PARAM {
    /// A descriptor for `gettable`/`settable` lists (no data).
    pub const fn describe(key: &'static CStr, data_type: c_uint) -> OSSL_PARAM {
        OSSL_PARAM {
            key: key.as_ptr(),
            data_type,
            data: std::ptr::null_mut(),
            data_size: 0,
            return_size: OSSL_PARAM_UNMODIFIED,
        }
    }

    pub const END: OSSL_PARAM = OSSL_PARAM {
        key: std::ptr::null(),
        data_type: 0,
        data: std::ptr::null_mut(),
        data_size: 0,
        return_size: 0,
    };
}

/// `OSSL_CALLBACK`: `int (const OSSL_PARAM params[], void *arg)`.
pub type OSSL_CALLBACK = unsafe extern "C" fn(params: *const OSSL_PARAM, arg: *mut c_void) -> c_int;

/// `OSSL_PASSPHRASE_CALLBACK`.
pub type OSSL_PASSPHRASE_CALLBACK = unsafe extern "C" fn(
    pass: *mut c_char,
    pass_size: usize,
    pass_len: *mut usize,
    params: *const OSSL_PARAM,
    arg: *mut c_void,
) -> c_int;

// ---------------------------------------------------------------------------------------
// core_dispatch.h: operations, function ids, selections
// ---------------------------------------------------------------------------------------

pub const OSSL_OP_KEYMGMT: c_int = 10;
pub const OSSL_OP_SIGNATURE: c_int = 12;
pub const OSSL_OP_ASYM_CIPHER: c_int = 13;
pub const OSSL_OP_ENCODER: c_int = 20;
pub const OSSL_OP_DECODER: c_int = 21;
pub const OSSL_OP_STORE: c_int = 22;

pub const OSSL_KEYMGMT_SELECT_PRIVATE_KEY: c_int = 0x01;
pub const OSSL_KEYMGMT_SELECT_PUBLIC_KEY: c_int = 0x02;
pub const OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS: c_int = 0x04;
pub const OSSL_KEYMGMT_SELECT_OTHER_PARAMETERS: c_int = 0x80;
pub const OSSL_KEYMGMT_SELECT_ALL_PARAMETERS: c_int =
    OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS | OSSL_KEYMGMT_SELECT_OTHER_PARAMETERS;

// Functions the core offers the provider.
pub const OSSL_FUNC_CORE_GET_PARAMS: c_int = 2;
pub const OSSL_FUNC_CORE_NEW_ERROR: c_int = 5;
pub const OSSL_FUNC_CORE_SET_ERROR_DEBUG: c_int = 6;
pub const OSSL_FUNC_CORE_VSET_ERROR: c_int = 7;

pub type core_get_params_fn =
    unsafe extern "C" fn(prov: *const OSSL_CORE_HANDLE, params: *mut OSSL_PARAM) -> c_int;
pub type core_new_error_fn = unsafe extern "C" fn(prov: *const OSSL_CORE_HANDLE);
pub type core_set_error_debug_fn = unsafe extern "C" fn(
    prov: *const OSSL_CORE_HANDLE,
    file: *const c_char,
    line: c_int,
    func: *const c_char,
);
/// `core_vset_error` takes a `va_list`: it is only ever called from the C shim
/// (provider/shim.c), so Rust keeps it as an opaque function pointer.
pub type core_vset_error_fn = GenericFn;

// Functions the provider offers the core.
pub const OSSL_FUNC_PROVIDER_TEARDOWN: c_int = 1024;
pub const OSSL_FUNC_PROVIDER_GETTABLE_PARAMS: c_int = 1025;
pub const OSSL_FUNC_PROVIDER_GET_PARAMS: c_int = 1026;
pub const OSSL_FUNC_PROVIDER_QUERY_OPERATION: c_int = 1027;
pub const OSSL_FUNC_PROVIDER_GET_REASON_STRINGS: c_int = 1029;

pub const OSSL_FUNC_KEYMGMT_LOAD: c_int = 8;
pub const OSSL_FUNC_KEYMGMT_FREE: c_int = 10;
pub const OSSL_FUNC_KEYMGMT_GET_PARAMS: c_int = 11;
pub const OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS: c_int = 12;
pub const OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME: c_int = 20;
pub const OSSL_FUNC_KEYMGMT_HAS: c_int = 21;
pub const OSSL_FUNC_KEYMGMT_MATCH: c_int = 23;
pub const OSSL_FUNC_KEYMGMT_EXPORT: c_int = 42;
pub const OSSL_FUNC_KEYMGMT_EXPORT_TYPES: c_int = 43;
pub const OSSL_FUNC_KEYMGMT_DUP: c_int = 44;

pub const OSSL_FUNC_SIGNATURE_NEWCTX: c_int = 1;
pub const OSSL_FUNC_SIGNATURE_SIGN_INIT: c_int = 2;
pub const OSSL_FUNC_SIGNATURE_SIGN: c_int = 3;
pub const OSSL_FUNC_SIGNATURE_VERIFY_INIT: c_int = 4;
pub const OSSL_FUNC_SIGNATURE_VERIFY: c_int = 5;
pub const OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT: c_int = 8;
pub const OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE: c_int = 9;
pub const OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL: c_int = 10;
pub const OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_INIT: c_int = 12;
pub const OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_UPDATE: c_int = 13;
pub const OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_FINAL: c_int = 14;
pub const OSSL_FUNC_SIGNATURE_FREECTX: c_int = 16;
pub const OSSL_FUNC_SIGNATURE_DUPCTX: c_int = 17;
pub const OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS: c_int = 18;
pub const OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS: c_int = 19;
pub const OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS: c_int = 20;
pub const OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS: c_int = 21;

pub const OSSL_FUNC_ASYM_CIPHER_NEWCTX: c_int = 1;
pub const OSSL_FUNC_ASYM_CIPHER_ENCRYPT_INIT: c_int = 2;
pub const OSSL_FUNC_ASYM_CIPHER_ENCRYPT: c_int = 3;
pub const OSSL_FUNC_ASYM_CIPHER_DECRYPT_INIT: c_int = 4;
pub const OSSL_FUNC_ASYM_CIPHER_DECRYPT: c_int = 5;
pub const OSSL_FUNC_ASYM_CIPHER_FREECTX: c_int = 6;
pub const OSSL_FUNC_ASYM_CIPHER_DUPCTX: c_int = 7;
pub const OSSL_FUNC_ASYM_CIPHER_GET_CTX_PARAMS: c_int = 8;
pub const OSSL_FUNC_ASYM_CIPHER_GETTABLE_CTX_PARAMS: c_int = 9;
pub const OSSL_FUNC_ASYM_CIPHER_SET_CTX_PARAMS: c_int = 10;
pub const OSSL_FUNC_ASYM_CIPHER_SETTABLE_CTX_PARAMS: c_int = 11;

pub const OSSL_FUNC_STORE_OPEN: c_int = 1;
pub const OSSL_FUNC_STORE_SETTABLE_CTX_PARAMS: c_int = 3;
pub const OSSL_FUNC_STORE_SET_CTX_PARAMS: c_int = 4;
pub const OSSL_FUNC_STORE_LOAD: c_int = 5;
pub const OSSL_FUNC_STORE_EOF: c_int = 6;
pub const OSSL_FUNC_STORE_CLOSE: c_int = 7;

// ---------------------------------------------------------------------------------------
// core_object.h and core_names.h
// ---------------------------------------------------------------------------------------

pub const OSSL_OBJECT_PKEY: c_int = 2;

pub mod names {
    //! Parameter names (core_names.h).
    use std::ffi::CStr;

    pub const PROV_NAME: &CStr = c"name";
    pub const PROV_VERSION: &CStr = c"version";
    pub const PROV_BUILDINFO: &CStr = c"buildinfo";
    pub const PROV_STATUS: &CStr = c"status";

    pub const OBJECT_TYPE: &CStr = c"type";
    pub const OBJECT_DATA_TYPE: &CStr = c"data-type";
    pub const OBJECT_REFERENCE: &CStr = c"reference";

    pub const PKEY_BITS: &CStr = c"bits";
    pub const PKEY_SECURITY_BITS: &CStr = c"security-bits";
    pub const PKEY_MAX_SIZE: &CStr = c"max-size";
    pub const PKEY_DEFAULT_DIGEST: &CStr = c"default-digest";
    pub const PKEY_RSA_N: &CStr = c"n";
    pub const PKEY_RSA_E: &CStr = c"e";
    pub const PKEY_GROUP_NAME: &CStr = c"group";
    pub const PKEY_PUB_KEY: &CStr = c"pub";
    pub const PKEY_ENCODED_PUBLIC_KEY: &CStr = c"encoded-pub-key";
    pub const PKEY_EC_PUB_X: &CStr = c"qx";
    pub const PKEY_EC_PUB_Y: &CStr = c"qy";
    pub const PKEY_EC_POINT_CONVERSION_FORMAT: &CStr = c"point-format";
    pub const PKEY_EC_ENCODING: &CStr = c"encoding";
    pub const PKEY_EC_DECODED_FROM_EXPLICIT_PARAMS: &CStr = c"decoded-from-explicit";

    pub const DIGEST: &CStr = c"digest";
    pub const PROPERTIES: &CStr = c"properties";
    pub const PAD_MODE: &CStr = c"pad-mode";
    pub const MGF1_DIGEST: &CStr = c"mgf1-digest";
    pub const MGF1_PROPERTIES: &CStr = c"mgf1-properties";
    pub const PSS_SALTLEN: &CStr = c"saltlen";
    pub const DIGEST_SIZE: &CStr = c"digest-size";
    pub const ALGORITHM_ID: &CStr = c"algorithm-id";

    pub const OAEP_DIGEST: &CStr = c"digest";
    pub const OAEP_DIGEST_PROPS: &CStr = c"digest-props";
    pub const OAEP_LABEL: &CStr = c"oaep-label";
    pub const TLS_CLIENT_VERSION: &CStr = c"tls-client-version";
    pub const TLS_NEGOTIATED_VERSION: &CStr = c"tls-negotiated-version";

    pub const STORE_EXPECT: &CStr = c"expect";
    pub const STORE_PROPERTIES: &CStr = c"properties";
    pub const STORE_INPUT_TYPE: &CStr = c"input-type";
}

// rsa.h
pub const RSA_PKCS1_PADDING: c_int = 1;
pub const RSA_NO_PADDING: c_int = 3;
pub const RSA_PKCS1_OAEP_PADDING: c_int = 4;
pub const RSA_X931_PADDING: c_int = 5;
pub const RSA_PKCS1_PSS_PADDING: c_int = 6;
pub const RSA_PKCS1_WITH_TLS_PADDING: c_int = 7;
pub const RSA_PSS_SALTLEN_DIGEST: c_int = -1;
pub const RSA_PSS_SALTLEN_AUTO: c_int = -2;
pub const RSA_PSS_SALTLEN_MAX: c_int = -3;
/// 3.1+ (`RSA_PSS_SALTLEN_AUTO_DIGEST_MAX`), absent from 3.0 headers.
pub const RSA_PSS_SALTLEN_AUTO_DIGEST_MAX: c_int = -4;

// evp.h
/// `EVP_PKEY_PUBLIC_KEY` selection for `EVP_PKEY_fromdata`.
pub const EVP_PKEY_PUBLIC_KEY: c_int =
    OSSL_KEYMGMT_SELECT_ALL_PARAMETERS | OSSL_KEYMGMT_SELECT_PUBLIC_KEY;

// ---------------------------------------------------------------------------------------
// libcrypto functions the provider calls (linked through openssl-sys). None of them
// fetches an algorithm from the application's library context.
// ---------------------------------------------------------------------------------------

unsafe extern "C" {
    pub fn OSSL_PARAM_locate(params: *mut OSSL_PARAM, key: *const c_char) -> *mut OSSL_PARAM;
    pub fn OSSL_PARAM_locate_const(
        params: *const OSSL_PARAM,
        key: *const c_char,
    ) -> *const OSSL_PARAM;
    pub fn OSSL_PARAM_get_int(p: *const OSSL_PARAM, val: *mut c_int) -> c_int;
    pub fn OSSL_PARAM_get_uint(p: *const OSSL_PARAM, val: *mut c_uint) -> c_int;
    pub fn OSSL_PARAM_set_int(p: *mut OSSL_PARAM, val: c_int) -> c_int;
    pub fn OSSL_PARAM_set_uint(p: *mut OSSL_PARAM, val: c_uint) -> c_int;
    pub fn OSSL_PARAM_set_size_t(p: *mut OSSL_PARAM, val: usize) -> c_int;
    pub fn OSSL_PARAM_set_utf8_string(p: *mut OSSL_PARAM, val: *const c_char) -> c_int;
    pub fn OSSL_PARAM_set_utf8_ptr(p: *mut OSSL_PARAM, val: *const c_char) -> c_int;
    pub fn OSSL_PARAM_set_octet_string(p: *mut OSSL_PARAM, val: *const c_void, len: usize)
    -> c_int;

    pub fn OSSL_LIB_CTX_new() -> *mut OSSL_LIB_CTX;
    pub fn OSSL_LIB_CTX_free(ctx: *mut OSSL_LIB_CTX);
    pub fn OSSL_PROVIDER_load(ctx: *mut OSSL_LIB_CTX, name: *const c_char) -> *mut OSSL_PROVIDER;
    pub fn OSSL_PROVIDER_unload(prov: *mut OSSL_PROVIDER) -> c_int;

    pub fn EVP_MD_fetch(
        ctx: *mut OSSL_LIB_CTX,
        algorithm: *const c_char,
        properties: *const c_char,
    ) -> *mut EVP_MD;
    pub fn EVP_MD_free(md: *mut EVP_MD);
    pub fn EVP_MD_CTX_new() -> *mut EVP_MD_CTX;
    pub fn EVP_MD_CTX_free(ctx: *mut EVP_MD_CTX);
    pub fn EVP_MD_CTX_copy_ex(out: *mut EVP_MD_CTX, input: *const EVP_MD_CTX) -> c_int;
    pub fn EVP_DigestInit_ex2(
        ctx: *mut EVP_MD_CTX,
        md: *const EVP_MD,
        params: *const OSSL_PARAM,
    ) -> c_int;
    pub fn EVP_DigestUpdate(ctx: *mut EVP_MD_CTX, data: *const c_void, len: usize) -> c_int;
    pub fn EVP_DigestFinal_ex(ctx: *mut EVP_MD_CTX, md: *mut u8, len: *mut c_uint) -> c_int;

    pub fn EVP_PKEY_CTX_new_from_name(
        ctx: *mut OSSL_LIB_CTX,
        name: *const c_char,
        propquery: *const c_char,
    ) -> *mut EVP_PKEY_CTX;
    pub fn EVP_PKEY_CTX_new_from_pkey(
        ctx: *mut OSSL_LIB_CTX,
        pkey: *mut EVP_PKEY,
        propquery: *const c_char,
    ) -> *mut EVP_PKEY_CTX;
    pub fn EVP_PKEY_CTX_free(ctx: *mut EVP_PKEY_CTX);
    pub fn EVP_PKEY_fromdata_init(ctx: *mut EVP_PKEY_CTX) -> c_int;
    pub fn EVP_PKEY_fromdata(
        ctx: *mut EVP_PKEY_CTX,
        ppkey: *mut *mut EVP_PKEY,
        selection: c_int,
        params: *mut OSSL_PARAM,
    ) -> c_int;
    pub fn EVP_PKEY_free(pkey: *mut EVP_PKEY);
    pub fn EVP_PKEY_verify_init_ex(ctx: *mut EVP_PKEY_CTX, params: *const OSSL_PARAM) -> c_int;
    pub fn EVP_PKEY_verify(
        ctx: *mut EVP_PKEY_CTX,
        sig: *const u8,
        siglen: usize,
        tbs: *const u8,
        tbslen: usize,
    ) -> c_int;
    pub fn EVP_PKEY_encrypt_init_ex(ctx: *mut EVP_PKEY_CTX, params: *const OSSL_PARAM) -> c_int;
    pub fn EVP_PKEY_encrypt(
        ctx: *mut EVP_PKEY_CTX,
        out: *mut u8,
        outlen: *mut usize,
        input: *const u8,
        inlen: usize,
    ) -> c_int;

    pub fn ERR_set_mark() -> c_int;
    pub fn ERR_pop_to_mark() -> c_int;
}

// ---------------------------------------------------------------------------------------
// Typed dispatch constructors: each ties a function id to the exact C signature that
// core_dispatch.h declares for it.
// ---------------------------------------------------------------------------------------

macro_rules! typed_dispatch {
    ($( $ctor:ident = $id:ident : fn($($arg:ty),*) $(-> $ret:ty)? ;)*) => {
        $(
            pub const fn $ctor(f: unsafe extern "C" fn($($arg),*) $(-> $ret)?) -> OSSL_DISPATCH {
                OSSL_DISPATCH {
                    function_id: $id,
                    // SAFETY: OpenSSL casts the entry back to exactly this signature, which
                    // is the one core_dispatch.h declares for `$id`.
                    function: Some(unsafe {
                        std::mem::transmute::<
                            unsafe extern "C" fn($($arg),*) $(-> $ret)?,
                            GenericFn,
                        >(f)
                    }),
                }
            }
        )*
    };
}

type Ctx = *mut c_void;
type Params = *const OSSL_PARAM;
type MutParams = *mut OSSL_PARAM;

typed_dispatch! {
    dispatch_provider_teardown = OSSL_FUNC_PROVIDER_TEARDOWN: fn(Ctx);
    dispatch_provider_gettable_params = OSSL_FUNC_PROVIDER_GETTABLE_PARAMS: fn(Ctx) -> Params;
    dispatch_provider_get_params = OSSL_FUNC_PROVIDER_GET_PARAMS: fn(Ctx, MutParams) -> c_int;
    dispatch_provider_query_operation = OSSL_FUNC_PROVIDER_QUERY_OPERATION:
        fn(Ctx, c_int, *mut c_int) -> *const OSSL_ALGORITHM;
    dispatch_provider_get_reason_strings = OSSL_FUNC_PROVIDER_GET_REASON_STRINGS:
        fn(Ctx) -> *const OSSL_ITEM;

    dispatch_store_open = OSSL_FUNC_STORE_OPEN: fn(Ctx, *const c_char) -> Ctx;
    dispatch_store_settable_ctx_params = OSSL_FUNC_STORE_SETTABLE_CTX_PARAMS: fn(Ctx) -> Params;
    dispatch_store_set_ctx_params = OSSL_FUNC_STORE_SET_CTX_PARAMS: fn(Ctx, Params) -> c_int;
    dispatch_store_load = OSSL_FUNC_STORE_LOAD:
        fn(Ctx, Option<OSSL_CALLBACK>, Ctx, Option<OSSL_PASSPHRASE_CALLBACK>, Ctx) -> c_int;
    dispatch_store_eof = OSSL_FUNC_STORE_EOF: fn(Ctx) -> c_int;
    dispatch_store_close = OSSL_FUNC_STORE_CLOSE: fn(Ctx) -> c_int;

    dispatch_keymgmt_load = OSSL_FUNC_KEYMGMT_LOAD: fn(*const c_void, usize) -> Ctx;
    dispatch_keymgmt_free = OSSL_FUNC_KEYMGMT_FREE: fn(Ctx);
    dispatch_keymgmt_get_params = OSSL_FUNC_KEYMGMT_GET_PARAMS: fn(Ctx, MutParams) -> c_int;
    dispatch_keymgmt_gettable_params = OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS: fn(Ctx) -> Params;
    dispatch_keymgmt_query_operation_name = OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME:
        fn(c_int) -> *const c_char;
    dispatch_keymgmt_has = OSSL_FUNC_KEYMGMT_HAS: fn(*const c_void, c_int) -> c_int;
    dispatch_keymgmt_match = OSSL_FUNC_KEYMGMT_MATCH:
        fn(*const c_void, *const c_void, c_int) -> c_int;
    dispatch_keymgmt_export = OSSL_FUNC_KEYMGMT_EXPORT:
        fn(Ctx, c_int, Option<OSSL_CALLBACK>, Ctx) -> c_int;
    dispatch_keymgmt_export_types = OSSL_FUNC_KEYMGMT_EXPORT_TYPES: fn(c_int) -> Params;
    dispatch_keymgmt_dup = OSSL_FUNC_KEYMGMT_DUP: fn(*const c_void, c_int) -> Ctx;

    dispatch_signature_newctx = OSSL_FUNC_SIGNATURE_NEWCTX: fn(Ctx, *const c_char) -> Ctx;
    dispatch_signature_sign_init = OSSL_FUNC_SIGNATURE_SIGN_INIT: fn(Ctx, Ctx, Params) -> c_int;
    dispatch_signature_sign = OSSL_FUNC_SIGNATURE_SIGN:
        fn(Ctx, *mut u8, *mut usize, usize, *const u8, usize) -> c_int;
    dispatch_signature_verify_init = OSSL_FUNC_SIGNATURE_VERIFY_INIT:
        fn(Ctx, Ctx, Params) -> c_int;
    dispatch_signature_verify = OSSL_FUNC_SIGNATURE_VERIFY:
        fn(Ctx, *const u8, usize, *const u8, usize) -> c_int;
    dispatch_signature_digest_sign_init = OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT:
        fn(Ctx, *const c_char, Ctx, Params) -> c_int;
    dispatch_signature_digest_sign_update = OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE:
        fn(Ctx, *const u8, usize) -> c_int;
    dispatch_signature_digest_sign_final = OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL:
        fn(Ctx, *mut u8, *mut usize, usize) -> c_int;
    dispatch_signature_digest_verify_init = OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_INIT:
        fn(Ctx, *const c_char, Ctx, Params) -> c_int;
    dispatch_signature_digest_verify_update = OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_UPDATE:
        fn(Ctx, *const u8, usize) -> c_int;
    dispatch_signature_digest_verify_final = OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_FINAL:
        fn(Ctx, *const u8, usize) -> c_int;
    dispatch_signature_freectx = OSSL_FUNC_SIGNATURE_FREECTX: fn(Ctx);
    dispatch_signature_dupctx = OSSL_FUNC_SIGNATURE_DUPCTX: fn(Ctx) -> Ctx;
    dispatch_signature_get_ctx_params = OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS:
        fn(Ctx, MutParams) -> c_int;
    dispatch_signature_gettable_ctx_params = OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS:
        fn(Ctx, Ctx) -> Params;
    dispatch_signature_set_ctx_params = OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS:
        fn(Ctx, Params) -> c_int;
    dispatch_signature_settable_ctx_params = OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS:
        fn(Ctx, Ctx) -> Params;

    dispatch_asym_cipher_newctx = OSSL_FUNC_ASYM_CIPHER_NEWCTX: fn(Ctx) -> Ctx;
    dispatch_asym_cipher_encrypt_init = OSSL_FUNC_ASYM_CIPHER_ENCRYPT_INIT:
        fn(Ctx, Ctx, Params) -> c_int;
    dispatch_asym_cipher_encrypt = OSSL_FUNC_ASYM_CIPHER_ENCRYPT:
        fn(Ctx, *mut u8, *mut usize, usize, *const u8, usize) -> c_int;
    dispatch_asym_cipher_decrypt_init = OSSL_FUNC_ASYM_CIPHER_DECRYPT_INIT:
        fn(Ctx, Ctx, Params) -> c_int;
    dispatch_asym_cipher_decrypt = OSSL_FUNC_ASYM_CIPHER_DECRYPT:
        fn(Ctx, *mut u8, *mut usize, usize, *const u8, usize) -> c_int;
    dispatch_asym_cipher_freectx = OSSL_FUNC_ASYM_CIPHER_FREECTX: fn(Ctx);
    dispatch_asym_cipher_dupctx = OSSL_FUNC_ASYM_CIPHER_DUPCTX: fn(Ctx) -> Ctx;
    dispatch_asym_cipher_get_ctx_params = OSSL_FUNC_ASYM_CIPHER_GET_CTX_PARAMS:
        fn(Ctx, MutParams) -> c_int;
    dispatch_asym_cipher_gettable_ctx_params = OSSL_FUNC_ASYM_CIPHER_GETTABLE_CTX_PARAMS:
        fn(Ctx, Ctx) -> Params;
    dispatch_asym_cipher_set_ctx_params = OSSL_FUNC_ASYM_CIPHER_SET_CTX_PARAMS:
        fn(Ctx, Params) -> c_int;
    dispatch_asym_cipher_settable_ctx_params = OSSL_FUNC_ASYM_CIPHER_SETTABLE_CTX_PARAMS:
        fn(Ctx, Ctx) -> Params;
}
