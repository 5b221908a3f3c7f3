//! The provider loaded into this test process through libcrypto, as an application loads it
//! (its own `OSSL_LIB_CTX` configured by an openssl.cnf): several provider instances, many
//! threads, and the DESIGN §6 rules that only an in-process caller can observe.

mod common;

use std::path::Path;
use std::sync::Barrier;

use common::Harness;
use common::libcrypto::{
    EVP_PKEY_KEYPAIR, EVP_PKEY_PUBLIC_KEY, LibCtx, Pkey, verifies_with_default_provider,
};

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

/// DESIGN §6.4: no I/O in any `*_init`. libssl probes every candidate sigalg of a server key
/// with `EVP_PKEY_digestsign_supports_digest` (an `EVP_DigestSignInit_ex`); the answer must
/// come from the provider alone, and be "no" for what the service cannot sign.
#[test]
fn libssl_style_digest_probes_make_no_request_and_refuse_what_the_service_cannot_sign() {
    let h = Harness::start(&[
        "vault:myvault:rsa1=rsa:2048",
        "managedHsm:myhsm:p256=ec:P-256",
    ]);
    let ctx = configured(&h);
    let rsa = ctx.load_key("akv:vault:myvault:rsa1").unwrap();
    let ec = ctx.load_key("akv:managedHsm:myhsm:p256").unwrap();
    let before = h.emulator.stats();
    for (key, md, supported) in [
        (&rsa, "SHA256", true),
        (&rsa, "SHA384", true),
        (&rsa, "SHA512", true),
        (&rsa, "SHA1", false),
        (&rsa, "SHA224", false),
        (&rsa, "MD5-SHA1", false),
        (&ec, "SHA256", true),
        (&ec, "SHA384", false),
        (&ec, "SHA1", false),
    ] {
        assert_eq!(
            key.digestsign_supports(&ctx, md),
            supported,
            "digest-sign with {md}"
        );
        common::libcrypto::clear_errors();
    }
    // A digest-sign started and abandoned: still nothing.
    drop(rsa.digest_sign_init(&ctx, "SHA256").unwrap());
    assert_eq!(h.emulator.stats(), before, "an init made a request");
}

/// DESIGN §6.4: a NULL output buffer returns the maximum size with no remote call
/// (`EVP_DigestSign` and `ASN1_item_sign` ask first; so does `EVP_PKEY_sign`). The size is
/// the one OpenSSL's default provider gives the same public key (`ECDSA_size`, modulus).
#[test]
fn size_queries_answer_the_default_providers_maximum_size_without_a_call() {
    let h = Harness::start(&[
        "vault:myvault:rsa3k=rsa:3072",
        "managedHsm:myhsm:p256=ec:P-256",
        "managedHsm:myhsm:p384=ec:P-384",
        "managedHsm:myhsm:p521=ec:P-521",
        "vault:myvault:k256=ec:P-256K",
    ]);
    let ctx = configured(&h);
    let verifier = LibCtx::default_only();
    for (uri, md, hash_len) in [
        ("akv:vault:myvault:rsa3k", "SHA256", 32),
        ("akv:managedHsm:myhsm:p256", "SHA256", 32),
        ("akv:managedHsm:myhsm:p384", "SHA384", 48),
        ("akv:managedHsm:myhsm:p521", "SHA512", 64),
        ("akv:vault:myvault:k256", "SHA256", 32),
    ] {
        let key = ctx.load_key(uri).unwrap();
        let size = Pkey::from_public_der(&verifier, &key.public_der()).size();
        assert_eq!(key.size(), size, "{uri}: EVP_PKEY_get_size");
        let signs = h.count("sign");
        let mut op = key.digest_sign_init(&ctx, md).unwrap();
        op.update(b"data").unwrap();
        assert_eq!(
            op.final_size().unwrap(),
            size,
            "{uri}: EVP_DigestSignFinal(NULL)"
        );
        assert_eq!(h.count("sign"), signs, "{uri}: a size query made a call");
        let (max, sig) = key.pkey_sign(&ctx, &vec![7u8; hash_len]).unwrap();
        assert_eq!(max, size, "{uri}: EVP_PKEY_sign(NULL)");
        assert!(
            !sig.is_empty() && sig.len() <= size,
            "{uri}: {} bytes",
            sig.len()
        );
        assert_eq!(
            h.count("sign"),
            signs + 1,
            "{uri}: one call for one signature"
        );
    }
}

/// DESIGN §6.3: what OpenSSL asks the keymgmt about a key, answered as the default provider
/// answers for the same public key; the public half exports, the private half never does.
#[test]
fn keymgmt_answers_like_the_default_provider_and_never_exports_the_private_half() {
    let h = Harness::start(&[
        "vault:myvault:rsa2k=rsa:2048",
        "vault:myvault:rsa4k=rsa:4096",
        "managedHsm:myhsm:p256=ec:P-256",
        "managedHsm:myhsm:p384=ec:P-384",
        "managedHsm:myhsm:p521=ec:P-521",
        "vault:myvault:k256=ec:P-256K",
    ]);
    let ctx = configured(&h);
    let verifier = LibCtx::default_only();
    for (uri, alias, group, digest) in [
        ("akv:vault:myvault:rsa2k", "rsaEncryption", None, "SHA256"),
        ("akv:vault:myvault:rsa4k", "rsaEncryption", None, "SHA256"),
        (
            "akv:managedHsm:myhsm:p256",
            "id-ecPublicKey",
            Some("prime256v1"),
            "SHA256",
        ),
        (
            "akv:managedHsm:myhsm:p384",
            "id-ecPublicKey",
            Some("secp384r1"),
            "SHA384",
        ),
        (
            "akv:managedHsm:myhsm:p521",
            "id-ecPublicKey",
            Some("secp521r1"),
            "SHA512",
        ),
        (
            "akv:vault:myvault:k256",
            "id-ecPublicKey",
            Some("secp256k1"),
            "SHA256",
        ),
    ] {
        let key = ctx.load_key(uri).unwrap();
        let public = Pkey::from_public_der(&verifier, &key.public_der());
        assert!(key.is_a(alias), "{uri} is not an {alias}");
        assert_eq!(key.bits(), public.bits(), "{uri}: bits");
        assert_eq!(
            key.security_bits(),
            public.security_bits(),
            "{uri}: security bits"
        );
        assert_eq!(key.default_digest(), digest, "{uri}: default digest");
        if let Some(group) = group {
            assert_eq!(key.group_name(), group, "{uri}: group name");
        }
        // X509_check_private_key / SSL_CTX_use_PrivateKey compare the halves this way.
        assert!(
            key.eq(&public),
            "{uri}: EVP_PKEY_eq with its own public key"
        );
        assert!(key.exports(EVP_PKEY_PUBLIC_KEY), "{uri}: public export");
        assert!(
            !key.exports(EVP_PKEY_KEYPAIR),
            "{uri}: the private half exported"
        );
        common::libcrypto::clear_errors();
    }
    // Two akv keys (keymgmt_match): the same key loaded twice matches, another does not.
    let rsa2k = ctx.load_key("akv:vault:myvault:rsa2k").unwrap();
    let rsa4k = ctx.load_key("akv:vault:myvault:rsa4k").unwrap();
    assert!(rsa2k.eq(&ctx.load_key("akv:vault:myvault:rsa2k").unwrap()));
    assert!(!rsa2k.eq(&rsa4k));
    assert!(!rsa2k.eq(&Pkey::from_public_der(&verifier, &rsa4k.public_der())));
    assert_eq!(h.key_requests(), vec![("get_key".to_string(), 9)]);
}

/// DESIGN §6.2: nginx loops `while (!OSSL_STORE_eof(store)) OSSL_STORE_load(store)`; after a
/// failed load eof must be true (one GET, no retry loop), and open must accept whatever
/// parameters the application passes.
#[test]
fn store_reaches_eof_after_a_failed_load_and_accepts_any_parameter_at_open() {
    let h = Harness::start(&["vault:myvault:rsa1=rsa:2048"]);
    let ctx = configured(&h);
    let mut store = ctx.open_store("akv:vault:myvault:nosuchkey").unwrap();
    let mut loads = 0;
    while !store.eof() {
        assert!(loads < 5, "eof never came after a failed load");
        assert!(store.load().is_none());
        loads += 1;
    }
    assert_eq!(loads, 1);
    let errors = common::libcrypto::take_errors();
    assert!(
        errors.contains("key 'nosuchkey' in vault 'myvault' not found"),
        "{errors}"
    );
    assert_eq!(h.count("get_key"), 1);

    let mut store = ctx
        .open_store_with(
            "akv:vault:myvault:rsa1",
            &[
                (c"input-type", c"DER"),
                (c"properties", c"?provider=akv"),
                (c"no-such-parameter", c"ignored"),
            ],
        )
        .unwrap();
    assert!(store.load().is_some());
    assert!(store.eof(), "eof once the key was handed out");
    assert!(store.load().is_none());
    assert_eq!(h.count("get_key"), 2);
}

/// DESIGN §2: a versionless URI is pinned at load. The key object keeps signing with the
/// version it loaded after a new version becomes the latest, so the signature still matches
/// the public key (and certificate) it was loaded with.
#[test]
fn a_versionless_key_keeps_signing_with_the_version_it_loaded_after_a_rotation() {
    let h = Harness::start(&[]);
    let spec = akv_emulator::KeySpec::parse("vault:myvault:rot=rsa:2048").unwrap();
    h.emulator.create_key(&spec).unwrap();
    let ctx = configured(&h);
    let pinned = ctx.load_key("akv:vault:myvault:rot").unwrap();
    let loaded_public = pinned.public_der();

    h.emulator.create_key(&spec).unwrap(); // the rotation: a new latest version
    let latest = ctx.load_key("akv:vault:myvault:rot").unwrap();
    assert_ne!(
        latest.public_der(),
        loaded_public,
        "the rotation made no new key"
    );

    let msg = b"signed after the rotation";
    let sig = pinned.digest_sign(&ctx, "SHA256", msg).unwrap();
    assert!(verifies_with_default_provider(
        &loaded_public,
        "SHA256",
        msg,
        &sig
    ));
    let sig = latest.digest_sign(&ctx, "SHA256", msg).unwrap();
    assert!(verifies_with_default_provider(
        &latest.public_der(),
        "SHA256",
        msg,
        &sig
    ));
    assert_eq!(h.count("sign"), 2);
}
