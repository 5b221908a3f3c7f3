//! Key management for RSA and EC keys held by the service (DESIGN §6.3).
//!
//! A key object holds only the reference, the pinned kid and the public half. There is no
//! `new`/`import`: foreign keys must never be pulled into this provider. `export` gives only
//! the public half and fails whenever the private key is asked for, which is what makes
//! libcrypto run signatures and decryption through us.

use std::ffi::{c_char, c_int, c_void};

use akv_client::PublicKey;

use crate::error::{self, Error, Result};
use crate::ffi::{
    self, OSSL_ALGORITHM, OSSL_CALLBACK, OSSL_DISPATCH, OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS,
    OSSL_KEYMGMT_SELECT_PRIVATE_KEY, OSSL_KEYMGMT_SELECT_PUBLIC_KEY, OSSL_PARAM, names,
};
use crate::key::{self, AkvKey, KeyKind, KeyReference, with_key};
use crate::params::{ParamBuilder, ParamsOut};

unsafe extern "C" fn keymgmt_load(reference: *const c_void, reference_sz: usize) -> *mut c_void {
    // SAFETY: OpenSSL passes the reference bytes our store emitted (or someone else's, which
    // `resolve` rejects by size and magic). No provctx comes with them: the key names its
    // provider instance, and a reference that is not ours has none to report to.
    let key = unsafe { KeyReference::resolve(reference, reference_sz) };
    let errors = key.as_ref().and_then(|k| k.provider.errors()).copied();
    error::boundary("keymgmt_load", errors.as_ref(), || {
        let key = key.ok_or_else(|| {
            Error::internal("keymgmt_load: not a reference made by the akv store")
        })?;
        Ok(key::into_keydata(key))
    })
}

unsafe extern "C" fn keymgmt_free(keydata: *mut c_void) {
    error::boundary("keymgmt_free", None, || {
        // SAFETY: OpenSSL frees each keydata it got from load/dup exactly once.
        unsafe { key::free_keydata(keydata) };
        Ok(())
    })
}

unsafe extern "C" fn keymgmt_dup(keydata: *const c_void, _selection: c_int) -> *mut c_void {
    // SAFETY: `keydata` is ours; a key is immutable, so a duplicate is another reference.
    unsafe {
        with_key("keymgmt_dup", keydata, |_| {
            Ok(key::into_keydata(key::borrow_keydata(keydata)?))
        })
    }
}

/// We hold the public key, "the private key" (remotely) and, for EC, the group.
unsafe extern "C" fn keymgmt_has(keydata: *const c_void, _selection: c_int) -> c_int {
    c_int::from(!keydata.is_null())
}

unsafe extern "C" fn keymgmt_match(
    k1: *const c_void,
    k2: *const c_void,
    selection: c_int,
) -> c_int {
    // SAFETY: both are our keydata (OpenSSL matches within one keymgmt).
    unsafe {
        with_key("keymgmt_match", k1, |a| {
            let b = key::keydata_ref(k2).ok_or_else(|| Error::invalid_argument("no key"))?;
            let keys_selected =
                selection & (OSSL_KEYMGMT_SELECT_PUBLIC_KEY | OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0;
            let same = if keys_selected {
                a.key.public == b.key.public
            } else {
                // Domain parameters only: the same curve (RSA has none).
                a.kind == b.kind || (a.is_rsa() && b.is_rsa())
            };
            Ok(c_int::from(same))
        })
    }
}

fn public_params(key: &AkvKey, selection: c_int) -> ParamBuilder {
    let mut b = ParamBuilder::new();
    let public = selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY != 0;
    match &key.key.public {
        PublicKey::Rsa { n, e } if public => {
            b = b
                .biguint(names::PKEY_RSA_N, n)
                .biguint(names::PKEY_RSA_E, e);
        }
        PublicKey::Ec { curve, x, y } => {
            if public || selection & OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS != 0 {
                b = b.utf8(names::PKEY_GROUP_NAME, key::group_name(*curve));
            }
            if public {
                b = b.octets(names::PKEY_PUB_KEY, &key::ec_point(x, y));
            }
        }
        _ => {}
    }
    b
}

unsafe extern "C" fn keymgmt_export(
    keydata: *mut c_void,
    selection: c_int,
    param_cb: Option<OSSL_CALLBACK>,
    cbarg: *mut c_void,
) -> c_int {
    // SAFETY: `keydata` is ours.
    unsafe {
        with_key("keymgmt_export", keydata, |key| {
            // The private half never leaves the service. Failing here, quietly, is what sends
            // libcrypto back to our own signature and cipher implementations.
            if selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY != 0 {
                return Ok(0);
            }
            let Some(param_cb) = param_cb else {
                return Ok(0);
            };
            let mut params = public_params(key, selection);
            // SAFETY: OpenSSL's callback; `params` outlives the call.
            Ok(param_cb(params.build(), cbarg))
        })
    }
}

static RSA_EXPORT_TYPES: [OSSL_PARAM; 3] = [
    OSSL_PARAM::describe(names::PKEY_RSA_N, ffi::OSSL_PARAM_UNSIGNED_INTEGER),
    OSSL_PARAM::describe(names::PKEY_RSA_E, ffi::OSSL_PARAM_UNSIGNED_INTEGER),
    OSSL_PARAM::END,
];

static EC_EXPORT_TYPES: [OSSL_PARAM; 3] = [
    OSSL_PARAM::describe(names::PKEY_GROUP_NAME, ffi::OSSL_PARAM_UTF8_STRING),
    OSSL_PARAM::describe(names::PKEY_PUB_KEY, ffi::OSSL_PARAM_OCTET_STRING),
    OSSL_PARAM::END,
];

static NO_PARAMS: [OSSL_PARAM; 1] = [OSSL_PARAM::END];

unsafe extern "C" fn rsa_export_types(selection: c_int) -> *const OSSL_PARAM {
    if selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY != 0 {
        RSA_EXPORT_TYPES.as_ptr()
    } else {
        NO_PARAMS.as_ptr()
    }
}

unsafe extern "C" fn ec_export_types(selection: c_int) -> *const OSSL_PARAM {
    if selection & (OSSL_KEYMGMT_SELECT_PUBLIC_KEY | OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS) != 0 {
        EC_EXPORT_TYPES.as_ptr()
    } else {
        NO_PARAMS.as_ptr()
    }
}

fn get_params(key: &AkvKey, out: ParamsOut) -> Result<()> {
    out.set_int(names::PKEY_BITS, key.bits() as c_int)?;
    out.set_int(names::PKEY_SECURITY_BITS, key.security_bits() as c_int)?;
    out.set_int(names::PKEY_MAX_SIZE, key.max_signature_size() as c_int)?;
    out.set_str(names::PKEY_DEFAULT_DIGEST, key.default_digest().name())?;
    match (&key.key.public, key.kind) {
        (PublicKey::Rsa { n, e }, _) => {
            out.set_biguint(names::PKEY_RSA_N, n)?;
            out.set_biguint(names::PKEY_RSA_E, e)?;
        }
        (PublicKey::Ec { x, y, .. }, KeyKind::Ec { curve }) => {
            let point = key::ec_point(x, y);
            out.set_str(names::PKEY_GROUP_NAME, key::group_name_cstr(curve))?;
            out.set_octets(names::PKEY_PUB_KEY, &point)?;
            out.set_octets(names::PKEY_ENCODED_PUBLIC_KEY, &point)?;
            out.set_biguint(names::PKEY_EC_PUB_X, x)?;
            out.set_biguint(names::PKEY_EC_PUB_Y, y)?;
            out.set_str(names::PKEY_EC_POINT_CONVERSION_FORMAT, c"uncompressed")?;
            out.set_str(names::PKEY_EC_ENCODING, c"named_curve")?;
            out.set_int(names::PKEY_EC_DECODED_FROM_EXPLICIT_PARAMS, 0)?;
        }
        _ => {}
    }
    Ok(())
}

unsafe extern "C" fn keymgmt_get_params(keydata: *mut c_void, params: *mut OSSL_PARAM) -> c_int {
    // SAFETY: `keydata` is ours; `params` is OpenSSL's writable, END-terminated array.
    unsafe {
        with_key("keymgmt_get_params", keydata, |key| {
            get_params(key, ParamsOut::new(params))?;
            Ok(1)
        })
    }
}

static RSA_GETTABLE_PARAMS: [OSSL_PARAM; 7] = [
    OSSL_PARAM::describe(names::PKEY_BITS, ffi::OSSL_PARAM_INTEGER),
    OSSL_PARAM::describe(names::PKEY_SECURITY_BITS, ffi::OSSL_PARAM_INTEGER),
    OSSL_PARAM::describe(names::PKEY_MAX_SIZE, ffi::OSSL_PARAM_INTEGER),
    OSSL_PARAM::describe(names::PKEY_DEFAULT_DIGEST, ffi::OSSL_PARAM_UTF8_STRING),
    OSSL_PARAM::describe(names::PKEY_RSA_N, ffi::OSSL_PARAM_UNSIGNED_INTEGER),
    OSSL_PARAM::describe(names::PKEY_RSA_E, ffi::OSSL_PARAM_UNSIGNED_INTEGER),
    OSSL_PARAM::END,
];

static EC_GETTABLE_PARAMS: [OSSL_PARAM; 13] = [
    OSSL_PARAM::describe(names::PKEY_BITS, ffi::OSSL_PARAM_INTEGER),
    OSSL_PARAM::describe(names::PKEY_SECURITY_BITS, ffi::OSSL_PARAM_INTEGER),
    OSSL_PARAM::describe(names::PKEY_MAX_SIZE, ffi::OSSL_PARAM_INTEGER),
    OSSL_PARAM::describe(names::PKEY_DEFAULT_DIGEST, ffi::OSSL_PARAM_UTF8_STRING),
    OSSL_PARAM::describe(names::PKEY_GROUP_NAME, ffi::OSSL_PARAM_UTF8_STRING),
    OSSL_PARAM::describe(names::PKEY_PUB_KEY, ffi::OSSL_PARAM_OCTET_STRING),
    OSSL_PARAM::describe(names::PKEY_ENCODED_PUBLIC_KEY, ffi::OSSL_PARAM_OCTET_STRING),
    OSSL_PARAM::describe(names::PKEY_EC_PUB_X, ffi::OSSL_PARAM_UNSIGNED_INTEGER),
    OSSL_PARAM::describe(names::PKEY_EC_PUB_Y, ffi::OSSL_PARAM_UNSIGNED_INTEGER),
    OSSL_PARAM::describe(
        names::PKEY_EC_POINT_CONVERSION_FORMAT,
        ffi::OSSL_PARAM_UTF8_STRING,
    ),
    OSSL_PARAM::describe(names::PKEY_EC_ENCODING, ffi::OSSL_PARAM_UTF8_STRING),
    OSSL_PARAM::describe(
        names::PKEY_EC_DECODED_FROM_EXPLICIT_PARAMS,
        ffi::OSSL_PARAM_INTEGER,
    ),
    OSSL_PARAM::END,
];

unsafe extern "C" fn rsa_gettable_params(_provctx: *mut c_void) -> *const OSSL_PARAM {
    RSA_GETTABLE_PARAMS.as_ptr()
}

unsafe extern "C" fn ec_gettable_params(_provctx: *mut c_void) -> *const OSSL_PARAM {
    EC_GETTABLE_PARAMS.as_ptr()
}

unsafe extern "C" fn rsa_query_operation_name(_operation_id: c_int) -> *const c_char {
    c"RSA".as_ptr()
}

/// Without this EVP would look for a signature algorithm named "EC", which does not exist.
unsafe extern "C" fn ec_query_operation_name(operation_id: c_int) -> *const c_char {
    match operation_id {
        ffi::OSSL_OP_SIGNATURE => c"ECDSA".as_ptr(),
        _ => c"EC".as_ptr(),
    }
}

/// The keymgmt table; RSA and EC differ only in what they export and describe.
macro_rules! keymgmt_dispatch {
    ($export_types:ident, $gettable:ident, $operation_name:ident) => {
        [
            ffi::dispatch_keymgmt_load(keymgmt_load),
            ffi::dispatch_keymgmt_free(keymgmt_free),
            ffi::dispatch_keymgmt_dup(keymgmt_dup),
            ffi::dispatch_keymgmt_has(keymgmt_has),
            ffi::dispatch_keymgmt_match(keymgmt_match),
            ffi::dispatch_keymgmt_export(keymgmt_export),
            ffi::dispatch_keymgmt_export_types($export_types),
            ffi::dispatch_keymgmt_get_params(keymgmt_get_params),
            ffi::dispatch_keymgmt_gettable_params($gettable),
            ffi::dispatch_keymgmt_query_operation_name($operation_name),
            OSSL_DISPATCH::END,
        ]
    };
}

pub static RSA_DISPATCH: [OSSL_DISPATCH; 11] = keymgmt_dispatch!(
    rsa_export_types,
    rsa_gettable_params,
    rsa_query_operation_name
);

pub static EC_DISPATCH: [OSSL_DISPATCH; 11] =
    keymgmt_dispatch!(ec_export_types, ec_gettable_params, ec_query_operation_name);

/// OpenSSL's own alias lists, so that libssl's `EVP_PKEY_is_a(pkey, "rsaEncryption")` and
/// friends recognise our keys.
pub static ALGORITHMS: [OSSL_ALGORITHM; 3] = [
    OSSL_ALGORITHM::new(c"RSA:rsaEncryption:1.2.840.113549.1.1.1", &RSA_DISPATCH),
    OSSL_ALGORITHM::new(c"EC:id-ecPublicKey:1.2.840.10045.2.1", &EC_DISPATCH),
    OSSL_ALGORITHM::END,
];

#[cfg(test)]
mod tests {
    use super::*;

    /// DESIGN §6.3: no `new`, no `import`: a foreign key can never be pulled into akv (with
    /// import, EVP would route other providers' keys' operations here).
    #[test]
    fn keymgmt_has_no_new_and_no_import() {
        const NEW: i32 = 1;
        const IMPORT: i32 = 40;
        const IMPORT_TYPES: i32 = 41;
        for table in [&RSA_DISPATCH, &EC_DISPATCH] {
            for entry in table.iter() {
                assert!(
                    ![NEW, IMPORT, IMPORT_TYPES].contains(&entry.function_id),
                    "function id {}",
                    entry.function_id
                );
            }
        }
    }

    #[test]
    fn export_refuses_any_selection_with_the_private_key() {
        let key = key::test_key(akv_client::PublicKey::Rsa {
            n: vec![0xc5; 256],
            e: vec![1, 0, 1],
        });
        let keydata = key::into_keydata(key);
        unsafe extern "C" fn count(_params: *const OSSL_PARAM, arg: *mut c_void) -> c_int {
            // SAFETY: `arg` is the counter below.
            unsafe { *(arg as *mut u32) += 1 };
            1
        }
        let mut calls = 0u32;
        let arg = &mut calls as *mut u32 as *mut c_void;
        // SAFETY: a live keydata and a callback that only counts.
        unsafe {
            for selection in [
                OSSL_KEYMGMT_SELECT_PRIVATE_KEY,
                OSSL_KEYMGMT_SELECT_PRIVATE_KEY | OSSL_KEYMGMT_SELECT_PUBLIC_KEY,
                0xff,
            ] {
                assert_eq!(keymgmt_export(keydata, selection, Some(count), arg), 0);
            }
            assert_eq!(calls, 0, "private material reached the callback");
            let public = OSSL_KEYMGMT_SELECT_PUBLIC_KEY | ffi::OSSL_KEYMGMT_SELECT_ALL_PARAMETERS;
            assert_eq!(keymgmt_export(keydata, public, Some(count), arg), 1);
            assert_eq!(calls, 1);
            key::free_keydata(keydata);
        }
    }
}
