//! Links the provider so that it exports only `OSSL_provider_init`.

fn main() {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("provider/akv.map");
    println!("cargo:rerun-if-changed={}", script.display());
    println!("cargo:rustc-cdylib-link-arg=-Wl,--version-script={}", script.display());
}
