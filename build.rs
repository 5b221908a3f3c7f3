//! Links the provider so that it exports only `OSSL_provider_init` (provider/akv.map) and
//! compiles the small C shim for the core's va_list error upcall (provider/shim.c). Nothing
//! in the provider depends on the OpenSSL 3.x minor version, so no version cfg is emitted.

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = root.join("provider/akv.map");
    let shim = root.join("provider/shim.c");
    println!("cargo:rerun-if-changed={}", script.display());
    println!("cargo:rerun-if-changed={}", shim.display());
    println!(
        "cargo:rustc-cdylib-link-arg=-Wl,--version-script={}",
        script.display()
    );

    cc::Build::new()
        .file(&shim)
        .warnings(true)
        .compile("akv_shim");
}
