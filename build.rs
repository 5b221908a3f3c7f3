//! Links the provider so that it exports only `OSSL_provider_init`, compiles the small C shim
//! for the core's va_list error upcall, and turns the system OpenSSL version (reported by
//! openssl-sys) into `ossl320`-style cfgs for the few places that differ between 3.x releases.

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

    for cfg in ["ossl320", "ossl340"] {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
    }
    println!("cargo:rerun-if-env-changed=DEP_OPENSSL_VERSION_NUMBER");
    if let Ok(hex) = std::env::var("DEP_OPENSSL_VERSION_NUMBER") {
        let version = u64::from_str_radix(&hex, 16).unwrap_or(0);
        if version >= 0x3020_0000 {
            println!("cargo:rustc-cfg=ossl320");
        }
        if version >= 0x3040_0000 {
            println!("cargo:rustc-cfg=ossl340");
        }
    }
}
