//! The provider loaded into this test process through libcrypto, as an application loads it
//! (its own `OSSL_LIB_CTX` configured by an openssl.cnf): several provider instances, many
//! threads, and the DESIGN §6 rules that only an in-process caller can observe.

mod common;

use std::path::Path;
use std::sync::Barrier;

use common::Harness;
use common::libcrypto::{LibCtx, verifies_with_default_provider};

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

#[test]
fn eight_threads_sign_concurrently_with_one_key_object_after_one_token_and_one_get() {
    const THREADS: usize = 8;
    const SIGNATURES_PER_THREAD: usize = 4;
    let h = Harness::start(&["vault:myvault:rsa1=rsa:2048"]);
    let ctx = configured(&h);
    let key = ctx.load_key("akv:vault:myvault:rsa1").unwrap();
    let public = key.public_der();
    let start = Barrier::new(THREADS);
    let signed: Vec<(String, Vec<u8>)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (ctx, key, start) = (&ctx, &key, &start);
                s.spawn(move || {
                    start.wait();
                    (0..SIGNATURES_PER_THREAD)
                        .map(|i| {
                            let msg = format!("thread {t}, message {i}");
                            let sig = key.digest_sign(ctx, "SHA256", msg.as_bytes()).unwrap();
                            (msg, sig)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("signing thread"))
            .collect()
    });
    assert_eq!(signed.len(), THREADS * SIGNATURES_PER_THREAD);
    for (msg, sig) in &signed {
        assert!(
            verifies_with_default_provider(&public, "SHA256", msg.as_bytes(), sig),
            "signature over '{msg}' does not verify"
        );
    }
    assert_eq!(h.count("token"), 1, "one token for every thread");
    assert_eq!(h.count("get_key"), 1, "one GET for the one key object");
    assert_eq!(h.count("sign"), (THREADS * SIGNATURES_PER_THREAD) as u64);
    // Kept-alive, pooled connections: never more than one per concurrent thread.
    let connections = h.emulator.stats()["connections"].as_u64().unwrap();
    assert!(connections <= THREADS as u64, "{connections} connections");
}
