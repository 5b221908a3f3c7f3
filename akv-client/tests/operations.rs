//! Key operations against the emulator, checked by OpenSSL as an independent verifier.

mod common;

use akv_client::{
    Curve, EncryptionAlgorithm, Error, KeyOperation, KeyType, PublicKey, SignatureAlgorithm,
};
use akv_emulator::KeySpec;
use common::*;
use openssl::pkey::PKey;
use openssl::rsa::Padding;
use serde_json::json;

#[test]
fn get_key_pins_the_version_from_kid_and_returns_the_typed_public_key() {
    let emu = start();
    let client = client(&emu, &[]);
    let key = client
        .get_key(&key_id("akv:vault:testvault:rsa2048"))
        .unwrap();
    let version = key.id.version().expect("pinned").to_string();
    assert!(
        key.kid.ends_with(&format!("/keys/rsa2048/{version}")),
        "{}",
        key.kid
    );
    assert_eq!(key.id.vault(), "testvault");
    assert!(matches!(key.kty, KeyType::Rsa | KeyType::RsaHsm));
    match &key.public {
        PublicKey::Rsa { n, e } => {
            assert_eq!(openssl_public(&key.public).bits(), 2048);
            assert!(n.len() >= 256);
            assert_eq!(e, &[1, 0, 1]);
        }
        other => panic!("{other:?}"),
    }
    assert!(key.key_ops.contains(&KeyOperation::Sign));
    assert_eq!(key.attributes.enabled, Some(true));

    // A pinned id fetches that version again.
    let again = client.get_key(&key.id).unwrap();
    assert_eq!(again.kid, key.kid);

    let ec = client
        .get_key(&key_id("akv:vault:testvault:ec384"))
        .unwrap();
    match &ec.public {
        PublicKey::Ec { curve, x, y } => {
            assert_eq!(*curve, Curve::P384);
            assert_eq!((x.len(), y.len()), (48, 48));
        }
        other => panic!("{other:?}"),
    }
    let hsm = client
        .get_key(&key_id("akv:managedHsm:testhsm:rsa3072"))
        .unwrap();
    assert_eq!(hsm.kty, KeyType::RsaHsm);
    assert_eq!(openssl_public(&hsm.public).bits(), 3072);
}

#[test]
fn every_uri_form_reaches_the_same_key() {
    let emu = start();
    let client = client(&emu, &[]);
    let pinned = client
        .get_key(&key_id("akv:vault:testvault:rsa2048"))
        .unwrap();
    let v = pinned.id.version().unwrap();
    for uri in [
        "akv:vault:testvault:rsa2048".to_string(),
        "akv://vault:testvault:rsa2048".to_string(),
        format!("akv:VAULT:testvault:rsa2048:{v}"),
        "akv:https://testvault.vault.azure.net/keys/rsa2048".to_string(),
        format!("akv:https://testvault.vault.azure.net/keys/rsa2048/{v}"),
        "akv:type=vault,vault=testvault,name=rsa2048".to_string(),
        format!("akv:type=vault,vault=testvault,name=rsa2048,version={v}"),
    ] {
        assert_eq!(
            client.get_key(&key_id(&uri)).unwrap().kid,
            pinned.kid,
            "{uri}"
        );
    }
    let hsm = client
        .get_key(&key_id("akv:managedHsm:testhsm:rsa3072"))
        .unwrap();
    let hv = hsm.id.version().unwrap();
    for uri in [
        "managedhsm:testhsm:rsa3072".to_string(),
        format!("managedhsm:testhsm:rsa3072?version={hv}"),
        "akv:type=managedHsm,vault=testhsm,name=rsa3072".to_string(),
    ] {
        assert_eq!(client.get_key(&key_id(&uri)).unwrap().kid, hsm.kid, "{uri}");
    }
}

#[test]
fn rsa_signatures_verify_with_openssl_for_every_algorithm() {
    let emu = start();
    let client = client(&emu, &[]);
    let key = client
        .get_key(&key_id("akv:vault:testvault:rsa2048"))
        .unwrap();
    let message = b"the quick brown fox";
    for alg in [
        SignatureAlgorithm::Rs256,
        SignatureAlgorithm::Rs384,
        SignatureAlgorithm::Rs512,
        SignatureAlgorithm::Ps256,
        SignatureAlgorithm::Ps384,
        SignatureAlgorithm::Ps512,
    ] {
        let signature = client.sign(&key.id, alg, &sha(alg, message)).unwrap();
        assert_eq!(signature.len(), 256, "{alg:?}");
        assert!(
            openssl_verifies(&key.public, alg, message, &signature),
            "{alg:?}"
        );
        assert!(!openssl_verifies(
            &key.public,
            alg,
            b"another message",
            &signature
        ));
        // and the service agrees
        assert!(
            client
                .verify(&key.id, alg, &sha(alg, message), &signature)
                .unwrap()
        );
    }
}

#[test]
fn ecdsa_signatures_are_raw_r_s_and_verify_with_openssl_on_every_curve() {
    let emu = start();
    let client = client(&emu, &[]);
    let message = b"ecdsa message";
    for (name, alg, len) in [
        ("ec256", SignatureAlgorithm::Es256, 64),
        ("ec384", SignatureAlgorithm::Es384, 96),
        ("ec521", SignatureAlgorithm::Es512, 132),
        ("ec256k", SignatureAlgorithm::Es256K, 64),
    ] {
        let key = client
            .get_key(&key_id(&format!("akv:vault:testvault:{name}")))
            .unwrap();
        let signature = client.sign(&key.id, alg, &sha(alg, message)).unwrap();
        assert_eq!(signature.len(), len, "{name}");
        assert!(
            openssl_verifies(&key.public, alg, message, &signature),
            "{name}"
        );
        let mut forged = signature.clone();
        forged[len / 2 - 1] ^= 1;
        assert!(
            !client
                .verify(&key.id, alg, &sha(alg, message), &forged)
                .unwrap()
        );
    }
}

#[test]
fn decrypt_and_unwrap_invert_openssl_encryption_with_the_public_key() {
    let emu = start();
    let client = client(&emu, &[]);
    let key = client
        .get_key(&key_id("akv:vault:testvault:rsa2048"))
        .unwrap();
    let rsa = openssl_public(&key.public).rsa().unwrap();
    let secret = b"thirty-two bytes of session key!";
    for (alg, padding) in [
        (EncryptionAlgorithm::Rsa1_5, Padding::PKCS1),
        (EncryptionAlgorithm::RsaOaep, Padding::PKCS1_OAEP),
    ] {
        let mut ciphertext = vec![0; rsa.size() as usize];
        let n = rsa
            .public_encrypt(secret, &mut ciphertext, padding)
            .unwrap();
        ciphertext.truncate(n);
        assert_eq!(client.decrypt(&key.id, alg, &ciphertext).unwrap(), secret);
        assert_eq!(
            client.unwrap_key(&key.id, alg, &ciphertext).unwrap(),
            secret
        );
    }
    // RSA-OAEP-256 with OpenSSL's EVP interface
    let pkey = PKey::from_rsa(rsa).unwrap();
    let mut enc = openssl::encrypt::Encrypter::new(&pkey).unwrap();
    enc.set_rsa_padding(Padding::PKCS1_OAEP).unwrap();
    enc.set_rsa_oaep_md(openssl::hash::MessageDigest::sha256())
        .unwrap();
    enc.set_rsa_mgf1_md(openssl::hash::MessageDigest::sha256())
        .unwrap();
    let mut ciphertext = vec![0; enc.encrypt_len(secret).unwrap()];
    let n = enc.encrypt(secret, &mut ciphertext).unwrap();
    ciphertext.truncate(n);
    assert_eq!(
        client
            .decrypt(&key.id, EncryptionAlgorithm::RsaOaep256, &ciphertext)
            .unwrap(),
        secret
    );
}

#[test]
fn remote_encrypt_and_wrap_round_trip() {
    let emu = start();
    let client = client(&emu, &[]);
    let id = key_id("akv:managedHsm:testhsm:rsa3072");
    let data = b"round trip";
    for alg in [
        EncryptionAlgorithm::Rsa1_5,
        EncryptionAlgorithm::RsaOaep,
        EncryptionAlgorithm::RsaOaep256,
    ] {
        let ciphertext = client.encrypt(&id, alg, data).unwrap();
        assert_eq!(ciphertext.len(), 384);
        assert_eq!(client.decrypt(&id, alg, &ciphertext).unwrap(), data);
        let wrapped = client.wrap_key(&id, alg, data).unwrap();
        assert_eq!(client.unwrap_key(&id, alg, &wrapped).unwrap(), data);
    }
}

#[test]
fn pinned_key_keeps_signing_with_its_version_after_a_rotation() {
    let emu = start();
    let client = client(&emu, &[]);
    let old = client
        .get_key(&key_id("akv:vault:testvault:rsa2048"))
        .unwrap();
    let new_kid = emu
        .create_key(&KeySpec::parse("vault:testvault:rsa2048=rsa:2048").unwrap())
        .unwrap();
    assert_ne!(new_kid, old.kid);
    let latest = client
        .get_key(&key_id("akv:vault:testvault:rsa2048"))
        .unwrap();
    assert_eq!(latest.kid, new_kid);
    let alg = SignatureAlgorithm::Rs256;
    let signature = client.sign(&old.id, alg, &sha(alg, b"m")).unwrap();
    assert!(openssl_verifies(&old.public, alg, b"m", &signature));
    assert!(!openssl_verifies(&latest.public, alg, b"m", &signature));
}

#[test]
fn missing_key_is_a_404_service_error_with_code_and_request_id() {
    let emu = start();
    let client = client(&emu, &[]);
    let err = client
        .get_key(&key_id("akv:vault:testvault:nosuchkey"))
        .unwrap_err();
    match &err {
        Error::Service {
            status,
            code,
            request_id,
            ..
        } => {
            assert_eq!(*status, 404);
            assert_eq!(code, "KeyNotFound");
            assert!(request_id.is_some());
        }
        other => panic!("{other:?}"),
    }
    assert!(err.is_not_found());
    assert!(
        err.to_string()
            .starts_with("key 'nosuchkey' in vault 'testvault': service answered 404 KeyNotFound"),
        "{err}"
    );
}

#[test]
fn forbidden_and_disabled_keys_keep_the_inner_code() {
    let emu = start();
    let client = client(&emu, &[]);
    emu.create_key_with(
        &KeySpec::parse("vault:testvault:verifyonly=rsa:2048").unwrap(),
        &json!({"key_ops": ["verify"]}),
    )
    .unwrap();
    let alg = SignatureAlgorithm::Rs256;
    let err = client
        .sign(
            &key_id("akv:vault:testvault:verifyonly"),
            alg,
            &sha(alg, b"x"),
        )
        .unwrap_err();
    assert_eq!(err.status(), Some(403), "{err}");
    match &err {
        Error::Service { inner_code, .. } => {
            assert_eq!(
                inner_code.as_deref(),
                Some("KeyOperationForbidden"),
                "{err}"
            )
        }
        other => panic!("{other:?}"),
    }
    emu.create_key_with(
        &KeySpec::parse("vault:testvault:disabled=ec:P-256").unwrap(),
        &json!({"attributes": {"enabled": false}}),
    )
    .unwrap();
    let alg = SignatureAlgorithm::Es256;
    let err = client
        .sign(
            &key_id("akv:vault:testvault:disabled"),
            alg,
            &sha(alg, b"x"),
        )
        .unwrap_err();
    assert_eq!(err.status(), Some(403), "{err}");
    assert!(err.to_string().contains("KeyDisabled"), "{err}");
    // "Operation sign is not allowed on a disabled key" does not say which key: the error does
    assert!(
        err.to_string()
            .starts_with("key 'disabled' in vault 'testvault': "),
        "{err}"
    );
}

#[test]
fn garbage_body_is_an_invalid_response_not_a_panic() {
    let emu = start();
    let client = client(&emu, &[]);
    let id = key_id("akv:vault:testvault:rsa2048");
    client.get_key(&id).unwrap();
    emu.add_faults(&json!([{"op": "get_key", "garbage": true, "count": 1}]))
        .unwrap();
    let err = client.get_key(&id).unwrap_err();
    assert!(matches!(err, Error::InvalidResponse { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("key 'rsa2048' in vault 'testvault': unexpected response"),
        "{err}"
    );
    assert!(client.get_key(&id).is_ok());
}

#[test]
fn versionless_operations_use_the_current_version() {
    let emu = start();
    let client = client(&emu, &[]);
    let id = key_id("akv:vault:testvault:ec256");
    let current = client.get_key(&id).unwrap();
    let alg = SignatureAlgorithm::Es256;
    // no get_key pinning here: /keys/ec256//sign
    let signature = client.sign(&id, alg, &sha(alg, b"v")).unwrap();
    assert!(openssl_verifies(&current.public, alg, b"v", &signature));
}
