//! Settings from the provider's openssl.cnf section (DESIGN §4), read once at init through the
//! core's `get_params`. Turning them into an `akv_client::Config` (where the environment
//! wins) happens lazily, on first use, so that init stays cheap and cannot fail.

use std::collections::BTreeMap;
use std::ffi::{CStr, c_char};

use crate::ffi::{OSSL_CORE_HANDLE, OSSL_PARAM, core_get_params_fn};

/// The openssl.cnf keys of DESIGN §4 (contract).
pub const SETTING_KEYS: [&CStr; 13] = [
    c"cloud",
    c"api_version",
    c"credential",
    c"client_id",
    c"tenant_id",
    c"client_secret_file",
    c"access_token_file",
    c"ca_file",
    c"connect_to",
    c"timeout_ms",
    c"max_retries",
    c"log_level",
    c"log_file",
];

/// Asks the core for every setting of our section; keys that are absent stay absent.
///
/// # Safety
/// `handle` and `get_params` come from the core's `OSSL_provider_init` arguments.
pub unsafe fn read_settings(
    handle: *const OSSL_CORE_HANDLE,
    get_params: Option<core_get_params_fn>,
) -> BTreeMap<String, String> {
    let mut settings = BTreeMap::new();
    let Some(get_params) = get_params else {
        return settings;
    };
    let mut values: Vec<*const c_char> = vec![std::ptr::null(); SETTING_KEYS.len()];
    let mut params: Vec<OSSL_PARAM> = SETTING_KEYS
        .iter()
        .zip(values.iter_mut())
        .map(|(key, slot)| OSSL_PARAM {
            key: key.as_ptr(),
            data_type: crate::ffi::OSSL_PARAM_UTF8_PTR,
            data: slot as *mut *const c_char as *mut std::ffi::c_void,
            data_size: 0,
            return_size: crate::ffi::OSSL_PARAM_UNMODIFIED,
        })
        .collect();
    params.push(OSSL_PARAM::END);
    // SAFETY: `params` is END-terminated and each data pointer is a `const char *` slot.
    if unsafe { get_params(handle, params.as_mut_ptr()) } != 1 {
        return settings;
    }
    for (key, value) in SETTING_KEYS.iter().zip(values.iter()) {
        if !value.is_null() {
            // SAFETY: the core points the slot at a NUL-terminated string it owns; we copy it
            // before returning.
            let value = unsafe { CStr::from_ptr(*value) }
                .to_string_lossy()
                .into_owned();
            settings.insert(key.to_string_lossy().into_owned(), value);
        }
    }
    settings
}
