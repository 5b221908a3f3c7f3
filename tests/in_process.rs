//! The provider loaded into this test process through libcrypto, as an application loads it
//! (its own `OSSL_LIB_CTX` configured by an openssl.cnf): several provider instances, many
//! threads, and the DESIGN §6 rules that only an in-process caller can observe.

mod common;

use std::path::Path;

use common::Harness;
use common::libcrypto::LibCtx;

/// A library context of this process with `default` and `akv` activated by an openssl.cnf
/// that points the provider at the emulator (no environment variable involved).
fn configured(h: &Harness) -> LibCtx {
    let cnf = h.config_file(&h.emulator_settings());
    LibCtx::from_config(Path::new(&cnf))
}

#[test]
fn each_provider_instance_raises_its_errors_after_another_instance_is_torn_down() {
    let h = Harness::start(&["vault:myvault:rsa1=rsa:2048"]);
    let missing = "akv:vault:myvault:nosuchkey";
    let expected = "key 'nosuchkey' in vault 'myvault' not found (KeyNotFound)";
    let first = configured(&h);
    {
        let second = configured(&h);
        let err = second.load_key(missing).err().expect("no such key");
        assert!(err.contains(expected), "second instance: {err}");
    } // the second library context and its akv instance are torn down here
    let err = first.load_key(missing).err().expect("no such key");
    assert!(err.contains(expected), "first instance: {err}");
    // The key that exists still loads through the first instance.
    first.load_key("akv:vault:myvault:rsa1").unwrap();
}
