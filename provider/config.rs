//! Settings from the provider's openssl.cnf section (DESIGN §4), read once at init through the
//! core's `get_params`. Turning them into an `akv_client::Config` (where the environment
//! wins) happens lazily, on first use, so that init stays cheap and cannot fail.

use std::collections::BTreeMap;
use std::ffi::{CStr, c_char};

use crate::ffi::{OSSL_CORE_HANDLE, OSSL_PARAM, core_get_params_fn};

/// Every openssl.cnf key akv-client reads: DESIGN §4's table (contract) and the client's
/// further settings (identity endpoints, proxy). A daemon whose environment is stripped has
/// only these, and the core hands over only the keys asked for by name.
pub const SETTING_KEYS: [&CStr; 21] = [
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
    c"federated_token_file",
    c"authority_host",
    c"imds_endpoint",
    c"object_id",
    c"msi_res_id",
    c"azure_cli_path",
    c"https_proxy",
    c"no_proxy",
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys akv-client's `Config::from_map_and_lookup` reads (`get("key", ...)` and
    /// `map_get("key")`), taken from its source so that a setting added there cannot be
    /// silently unreachable from openssl.cnf.
    fn client_setting_keys() -> Vec<String> {
        let source = include_str!("../akv-client/src/config.rs");
        let body = &source[source
            .find("pub fn from_map_and_lookup")
            .expect("from_map_and_lookup in akv-client")..];
        let body = &body[..body.find("\n    }\n").unwrap_or(body.len())];
        let mut keys: Vec<String> = body
            .match_indices("get(\"")
            .map(|(at, m)| {
                let rest = &body[at + m.len()..];
                rest[..rest.find('"').unwrap()].to_string()
            })
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }

    #[test]
    fn every_client_setting_is_asked_of_the_core() {
        let client = client_setting_keys();
        assert!(client.len() >= 13, "{client:?}");
        let mut ours: Vec<String> = SETTING_KEYS
            .iter()
            .map(|k| k.to_string_lossy().into_owned())
            .collect();
        ours.sort();
        assert_eq!(ours, client);
    }
}
