//! akv: an OpenSSL 3 provider for keys in Azure Key Vault and Azure Managed HSM.

/// Placeholder until the provider lands: refuses to initialise.
#[unsafe(no_mangle)]
pub extern "C" fn OSSL_provider_init(
    _handle: *const std::ffi::c_void,
    _core_in: *const std::ffi::c_void,
    _out: *mut *const std::ffi::c_void,
    _provctx: *mut *mut std::ffi::c_void,
) -> std::ffi::c_int {
    0
}
