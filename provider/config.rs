//! Settings from the provider's openssl.cnf section (DESIGN §4), read once at init through the
//! core's `get_params`. Turning them into an `akv_client::Config` (where the environment
//! wins) happens lazily, on first use, so that init stays cheap and cannot fail.

use std::collections::BTreeMap;
use std::ffi::{CStr, CString, c_char};

use akv_client::config::CONFIG_KEYS;

use crate::ffi::{OSSL_CORE_HANDLE, OSSL_PARAM, core_get_params_fn};

/// Asks the core for every openssl.cnf key akv-client reads (`CONFIG_KEYS`: DESIGN §4's table
/// and the client's further settings); keys that are absent stay absent. A daemon whose
/// environment is stripped has only these, and the core hands over only keys asked for by name.
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
    let keys: Vec<CString> = CONFIG_KEYS
        .iter()
        .filter_map(|key| CString::new(*key).ok())
        .collect();
    let mut values: Vec<*const c_char> = vec![std::ptr::null(); keys.len()];
    let mut params: Vec<OSSL_PARAM> = keys
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
    for (key, value) in keys.iter().zip(values.iter()) {
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
