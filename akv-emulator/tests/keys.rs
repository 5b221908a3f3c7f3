//! The keys REST API against real clients and an independent verifier: get forms, versions,
//! create/import/update/delete, every signature and encryption algorithm, and the checks the
//! service makes.

mod common;

use common::*;
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::Padding;
use serde_json::{Value, json};

const V: &str = "?api-version=7.5";

#[test]
fn get_latest_trailing_slash_and_by_version_return_the_same_key() {
    let h = Harness::new();
    let (name, version) = h.create("vault:myvault:rsa1=rsa:2048");
    let plain = h.get(VAULT, &format!("/keys/{name}{V}"));
    let slash = h.get(VAULT, &format!("/keys/{name}/{V}"));
    let versioned = h.get(VAULT, &format!("/keys/{name}/{version}{V}"));
    assert_eq!(plain.status, 200, "{}", plain.body);
    for r in [&plain, &slash, &versioned] {
        assert_eq!(r.json()["key"], plain.json()["key"]);
    }
    let key = plain.json();
    assert_eq!(
        key["key"]["kid"],
        format!("https://myvault.vault.azure.net/keys/rsa1/{version}")
    );
    assert_eq!(version.len(), 32);
    assert!(
        version
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert_eq!(key["key"]["kty"], "RSA");
    assert_eq!(key["key"]["e"], "AQAB");
    assert_eq!(unb64u(key["key"]["n"].as_str().unwrap()).len(), 256);
    assert!(
        key["key"].get("d").is_none(),
        "GET never returns private parts"
    );
    let attrs = &key["attributes"];
    assert_eq!(attrs["enabled"], true);
    assert!(attrs["created"].is_i64() && attrs["updated"].is_i64());
    assert_eq!(attrs["recoveryLevel"], "Recoverable+Purgeable");
    assert!(
        plain
            .header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert!(plain.header("x-ms-request-id").is_some());
}

#[test]
fn missing_key_and_version_are_key_not_found() {
    let h = Harness::new();
    let r = h.get(VAULT, &format!("/keys/nosuchkey{V}"));
    assert_eq!(r.status, 404);
    assert_eq!(r.code(), "KeyNotFound");
    assert!(r.message().contains("nosuchkey"), "{}", r.body);
    h.create("vault:myvault:k=ec:P-256");
    let r = h.get(
        VAULT,
        &format!("/keys/k/0123456789abcdef0123456789abcdef{V}"),
    );
    assert_eq!(r.status, 404);
    assert_eq!(r.code(), "KeyNotFound");
}

#[test]
fn vaults_are_separate_and_every_cloud_host_reaches_them() {
    let h = Harness::new();
    h.create("vault:myvault:k=ec:P-384");
    assert_eq!(
        h.get("othervault.vault.azure.net", &format!("/keys/k{V}"))
            .status,
        404
    );
    assert_eq!(
        h.get(
            HSM.replace("myhsm", "myvault").as_str(),
            &format!("/keys/k{V}")
        )
        .status,
        404
    );
    let cn = h.emu.issue_token("https://vault.azure.cn");
    let r = h.send(
        "GET",
        "myvault.vault.azure.cn:443",
        &format!("/keys/k{V}"),
        Some(&cn),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.json()["key"]["kid"]
            .as_str()
            .unwrap()
            .starts_with("https://myvault.vault.azure.cn/keys/k/")
    );
}

#[test]
fn create_adds_versions_and_lists_them() {
    let h = Harness::new();
    let first = h.post(
        VAULT,
        &format!("/keys/multi/create{V}"),
        &json!({"kty": "RSA", "key_size": 3072}),
    );
    assert_eq!(first.status, 200, "{}", first.body);
    let second = h.post(
        VAULT,
        &format!("/keys/multi/create{V}"),
        &json!({"kty": "EC-HSM", "crv": "P-521", "tags": {"t": "v"}}),
    );
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(second.json()["key"]["kty"], "EC-HSM");
    assert_eq!(second.json()["tags"]["t"], "v");
    let latest = h.get(VAULT, &format!("/keys/multi{V}"));
    assert_eq!(latest.json()["key"]["kid"], second.json()["key"]["kid"]);
    let versions = h.get(VAULT, &format!("/keys/multi/versions{V}"));
    assert_eq!(versions.status, 200);
    let kids: Vec<String> = versions.json()["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["kid"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kids.len(), 2);
    assert!(kids.contains(&first.json()["key"]["kid"].as_str().unwrap().to_string()));
    let old = h.get(
        VAULT,
        &format!(
            "/keys/multi/{}{V}",
            first.json()["key"]["kid"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
        ),
    );
    assert_eq!(old.json()["key"]["kty"], "RSA");
    let list = h.get(VAULT, &format!("/keys{V}"));
    assert_eq!(
        list.json()["value"][0]["kid"],
        "https://myvault.vault.azure.net/keys/multi"
    );
}

#[test]
fn create_rejects_what_the_service_rejects() {
    let h = Harness::new();
    let cases: &[(&str, Value)] = &[
        (VAULT, json!({"kty": "oct-HSM", "key_size": 256})),
        (HSM, json!({"kty": "RSA", "key_size": 2048})),
        (HSM, json!({"kty": "EC", "crv": "P-256"})),
        (VAULT, json!({"kty": "RSA", "key_size": 1024})),
        (VAULT, json!({"kty": "EC", "crv": "P-192"})),
        (VAULT, json!({"kty": "DSA"})),
        (VAULT, json!({"key_size": 2048})),
        (VAULT, json!({"kty": "RSA", "key_ops": ["sign", "fly"]})),
        (
            VAULT,
            json!({"kty": "RSA", "attributes": {"exp": "tomorrow"}}),
        ),
        (HSM, json!({"kty": "oct-HSM", "key_size": 512})),
    ];
    for (host, body) in cases {
        let r = h.post(host, &format!("/keys/bad/create{V}"), body);
        assert_eq!(r.status, 400, "{host} {body}: {}", r.body);
        assert_eq!(r.code(), "BadParameter");
        assert!(!r.message().is_empty());
    }
    // Managed HSM reports HSM key types.
    let r = h.post(
        HSM,
        &format!("/keys/ok/create{V}"),
        &json!({"kty": "RSA-HSM"}),
    );
    assert_eq!(r.json()["key"]["kty"], "RSA-HSM");
    let r = h.post(
        HSM,
        &format!("/keys/aes/create{V}"),
        &json!({"kty": "oct-HSM", "key_size": 128}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["key"]["kty"], "oct-HSM");
    assert!(r.json()["key"].get("k").is_none());
}

fn sign_and_verify_locally(h: &Harness, host: &str, name: &str, alg: &str) {
    let key = h.get(host, &format!("/keys/{name}{V}")).json();
    let public = public_key(&key["key"]);
    let hash = &alg[2..5];
    let digest = digest(hash, format!("message for {alg}").as_bytes());
    let r = h.post(
        host,
        &format!("/keys/{name}//sign{V}"),
        &json!({"alg": alg, "value": b64u(&digest)}),
    );
    assert_eq!(r.status, 200, "{alg}: {}", r.body);
    assert_eq!(r.json()["kid"], key["key"]["kid"]);
    let signature = unb64u(r.json()["value"].as_str().unwrap());

    // Independent verification with OpenSSL and the public key from the JWK.
    let ok = if alg.starts_with("ES") {
        let len = signature.len() / 2;
        let expected_len = match key["key"]["crv"].as_str().unwrap() {
            "P-384" => 48,
            "P-521" => 66,
            _ => 32,
        };
        assert_eq!(len, expected_len, "{alg}: raw r||s of fixed length");
        let sig = openssl::ecdsa::EcdsaSig::from_private_components(
            openssl::bn::BigNum::from_slice(&signature[..len]).unwrap(),
            openssl::bn::BigNum::from_slice(&signature[len..]).unwrap(),
        )
        .unwrap();
        sig.verify(&digest, &public.ec_key().unwrap()).unwrap()
    } else {
        let mut ctx = PkeyCtx::new(&public).unwrap();
        ctx.verify_init().unwrap();
        let md = match hash {
            "256" => openssl::md::Md::sha256(),
            "384" => openssl::md::Md::sha384(),
            _ => openssl::md::Md::sha512(),
        };
        if alg.starts_with("PS") {
            ctx.set_rsa_padding(Padding::PKCS1_PSS).unwrap();
            ctx.set_rsa_pss_saltlen(openssl::sign::RsaPssSaltlen::DIGEST_LENGTH)
                .unwrap();
            ctx.set_rsa_mgf1_md(md).unwrap();
        } else {
            ctx.set_rsa_padding(Padding::PKCS1).unwrap();
        }
        ctx.set_signature_md(md).unwrap();
        ctx.verify(&digest, &signature).unwrap_or(false)
    };
    assert!(ok, "{alg}: the signature verifies with OpenSSL");

    // And the service's own verify agrees, and refuses a flipped bit.
    let r = h.post(
        host,
        &format!("/keys/{name}//verify{V}"),
        &json!({"alg": alg, "digest": b64u(&digest), "value": b64u(&signature)}),
    );
    assert_eq!(r.json()["value"], true, "{alg}: {}", r.body);
    let mut bad = signature.clone();
    bad[5] ^= 1;
    let r = h.post(
        host,
        &format!("/keys/{name}//verify{V}"),
        &json!({"alg": alg, "digest": b64u(&digest), "value": b64u(&bad)}),
    );
    assert_eq!(r.json()["value"], false, "{alg}: {}", r.body);
}

#[test]
fn every_rsa_signature_algorithm_verifies_with_openssl() {
    let h = Harness::new();
    h.create("vault:myvault:rsa2048=rsa:2048");
    h.create("managedHsm:myhsm:rsa4096=rsa:4096");
    for alg in ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"] {
        sign_and_verify_locally(&h, VAULT, "rsa2048", alg);
        sign_and_verify_locally(&h, HSM, "rsa4096", alg);
    }
}

#[test]
fn every_ec_signature_algorithm_verifies_with_openssl() {
    let h = Harness::new();
    for (curve, alg) in [
        ("P-256", "ES256"),
        ("P-384", "ES384"),
        ("P-521", "ES512"),
        ("P-256K", "ES256K"),
    ] {
        let name = format!("ec-{}", curve.replace('-', "").to_lowercase());
        h.create(&format!("vault:myvault:{name}=ec:{curve}"));
        h.create(&format!("managedHsm:myhsm:{name}=ec:{curve}"));
        sign_and_verify_locally(&h, VAULT, &name, alg);
        sign_and_verify_locally(&h, HSM, &name, alg);
    }
}

#[test]
fn rsnull_signs_a_caller_supplied_digest_info() {
    let h = Harness::new();
    h.create("vault:myvault:r=rsa:2048");
    let key = h.get(VAULT, &format!("/keys/r{V}")).json();
    let public = public_key(&key["key"]);
    let d = digest("256", b"x");
    let mut digest_info = vec![
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];
    digest_info.extend(&d);
    let r = h.post(
        VAULT,
        &format!("/keys/r//sign{V}"),
        &json!({"alg": "RSNULL", "value": b64u(&digest_info)}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let sig = unb64u(r.json()["value"].as_str().unwrap());
    let mut v =
        openssl::sign::Verifier::new(openssl::hash::MessageDigest::sha256(), &public).unwrap();
    v.update(b"x").unwrap();
    assert!(
        v.verify(&sig).unwrap(),
        "RSNULL over a DigestInfo is an RS256 signature"
    );
}

#[test]
fn sign_checks_digest_length_algorithm_and_curve() {
    let h = Harness::new();
    h.create("vault:myvault:ec=ec:P-256");
    h.create("vault:myvault:rsa=rsa:2048");
    let r = h.post(
        VAULT,
        &format!("/keys/ec//sign{V}"),
        &json!({"alg": "ES256", "value": b64u(&[0u8; 43])}),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.code(), "BadParameter");
    assert_eq!(
        r.message(),
        "Invalid length of 'value': 43 bytes. ES256 requires 32 bytes, encoded with base64url."
    );
    // (key, raw body, what the message names); every one is a 400 BadParameter.
    let cases: &[(&str, String, &str)] = &[
        (
            "rsa",
            json!({"alg": "RS384", "value": b64u(&[0u8; 32])}).to_string(),
            "RS384 requires 48 bytes",
        ),
        (
            "ec",
            json!({"alg": "ES384", "value": b64u(&[0u8; 48])}).to_string(),
            "incompatible",
        ),
        (
            "rsa",
            json!({"alg": "ES256", "value": b64u(&[0u8; 32])}).to_string(),
            "incompatible",
        ),
        (
            "rsa",
            json!({"alg": "RS1", "value": b64u(&[0u8; 20])}).to_string(),
            "RS1",
        ),
        ("rsa", json!({"value": b64u(&[0u8; 32])}).to_string(), "alg"),
        ("rsa", json!({"alg": "RS256"}).to_string(), "value"),
        (
            "rsa",
            json!({"alg": "RS256", "value": "a+b/c=="}).to_string(),
            "base64url",
        ),
        (
            "rsa",
            json!({"alg": "RS256", "value": 17}).to_string(),
            "value",
        ),
        ("rsa", String::new(), "empty"),
        ("rsa", "{\"alg\": \"RS256\", ".to_string(), "not valid JSON"),
        ("rsa", "[1,2]".to_string(), "object"),
    ];
    for (key, body, named) in cases {
        let r = h.send(
            "POST",
            VAULT,
            &format!("/keys/{key}//sign{V}"),
            Some(&h.vault_token),
            Some(body),
        );
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_eq!(r.code(), "BadParameter", "{body}");
        assert!(r.message().contains(named), "{body}: {}", r.message());
    }
}

fn local_rsa_encrypt(
    public: &openssl::pkey::PKey<openssl::pkey::Public>,
    alg: &str,
    data: &[u8],
) -> Vec<u8> {
    let mut ctx = PkeyCtx::new(public).unwrap();
    ctx.encrypt_init().unwrap();
    match alg {
        "RSA1_5" => ctx.set_rsa_padding(Padding::PKCS1).unwrap(),
        "RSA-OAEP" => ctx.set_rsa_padding(Padding::PKCS1_OAEP).unwrap(),
        _ => {
            ctx.set_rsa_padding(Padding::PKCS1_OAEP).unwrap();
            ctx.set_rsa_oaep_md(openssl::md::Md::sha256()).unwrap();
            ctx.set_rsa_mgf1_md(openssl::md::Md::sha256()).unwrap();
        }
    }
    let mut out = Vec::new();
    ctx.encrypt_to_vec(data, &mut out).unwrap();
    out
}

#[test]
fn every_rsa_encryption_algorithm_round_trips_with_openssl() {
    let h = Harness::new();
    h.create("vault:myvault:rsa=rsa:3072");
    let key = h.get(VAULT, &format!("/keys/rsa{V}")).json();
    let public = public_key(&key["key"]);
    for alg in ["RSA1_5", "RSA-OAEP", "RSA-OAEP-256"] {
        for (enc, dec) in [("encrypt", "decrypt"), ("wrapkey", "unwrapkey")] {
            let secret = format!("secret for {alg} {enc}").into_bytes();
            // Encrypted locally by OpenSSL, decrypted by the service.
            let ct = local_rsa_encrypt(&public, alg, &secret);
            let r = h.post(
                VAULT,
                &format!("/keys/rsa//{dec}{V}"),
                &json!({"alg": alg, "value": b64u(&ct)}),
            );
            assert_eq!(r.status, 200, "{alg} {dec}: {}", r.body);
            assert_eq!(unb64u(r.json()["value"].as_str().unwrap()), secret);
            assert_eq!(r.json()["kid"], key["key"]["kid"]);
            // Encrypted by the service, decrypted by the service.
            let r = h.post(
                VAULT,
                &format!("/keys/rsa//{enc}{V}"),
                &json!({"alg": alg, "value": b64u(&secret)}),
            );
            assert_eq!(r.status, 200, "{alg} {enc}: {}", r.body);
            let ct = r.json()["value"].as_str().unwrap().to_string();
            assert_eq!(unb64u(&ct).len(), 384);
            let r = h.post(
                VAULT,
                &format!("/keys/rsa//{dec}{V}"),
                &json!({"alg": alg, "value": ct}),
            );
            assert_eq!(unb64u(r.json()["value"].as_str().unwrap()), secret);
        }
    }
    // Too long for OAEP-256 with 3072 bits (max 318 bytes), wrong ciphertext length, garbage.
    let r = h.post(
        VAULT,
        &format!("/keys/rsa//encrypt{V}"),
        &json!({"alg": "RSA-OAEP-256", "value": b64u(&[1u8; 319])}),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    let r = h.post(
        VAULT,
        &format!("/keys/rsa//decrypt{V}"),
        &json!({"alg": "RSA-OAEP", "value": b64u(&[1u8; 100])}),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    let r = h.post(
        VAULT,
        &format!("/keys/rsa//decrypt{V}"),
        &json!({"alg": "RSA-OAEP", "value": b64u(&[1u8; 384])}),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.code(), "BadParameter");
    let r = h.post(
        VAULT,
        &format!("/keys/rsa//encrypt{V}"),
        &json!({"alg": "A256GCM", "value": b64u(b"x")}),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    let r = h.post(
        VAULT,
        &format!("/keys/rsa//encrypt{V}"),
        &json!({"alg": "ROT13", "value": b64u(b"x")}),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.message().contains("ROT13"));
}

#[test]
fn ec_keys_refuse_encryption() {
    let h = Harness::new();
    h.create_key_ops("vault:myvault:ec=ec:P-256", &["sign", "verify", "encrypt"]);
    let r = h.post(
        VAULT,
        &format!("/keys/ec//encrypt{V}"),
        &json!({"alg": "RSA-OAEP", "value": b64u(b"x")}),
    );
    assert_eq!(r.status, 400, "{}", r.body);
}

trait CreateOps {
    fn create_key_ops(&self, spec: &str, ops: &[&str]);
}

impl CreateOps for Harness {
    fn create_key_ops(&self, s: &str, ops: &[&str]) {
        self.emu
            .create_key_with(&spec(s), &json!({ "key_ops": ops }))
            .unwrap();
    }
}

#[test]
fn aes_on_managed_hsm_gcm_cbc_and_key_wrap() {
    let h = Harness::new();
    h.create("managedHsm:myhsm:aes128=oct:128");
    h.create("managedHsm:myhsm:aes256=oct:256");
    h.create("managedHsm:myhsm:aes192=oct:192");
    let plaintext = b"sixteen byte blk and some more..".to_vec();
    for (key, bits) in [("aes128", 128), ("aes192", 192), ("aes256", 256)] {
        // GCM: the service picks the IV and returns iv, tag, aad.
        let alg = format!("A{bits}GCM");
        let r = h.post(
            HSM,
            &format!("/keys/{key}//encrypt{V}"),
            &json!({"alg": alg, "value": b64u(&plaintext), "aad": b64u(b"hdr")}),
        );
        assert_eq!(r.status, 200, "{alg}: {}", r.body);
        let e = r.json();
        assert_eq!(unb64u(e["iv"].as_str().unwrap()).len(), 12);
        assert_eq!(unb64u(e["tag"].as_str().unwrap()).len(), 16);
        assert_eq!(e["aad"], b64u(b"hdr"));
        let body = json!({"alg": alg, "value": e["value"], "iv": e["iv"], "tag": e["tag"], "aad": e["aad"]});
        let r = h.post(HSM, &format!("/keys/{key}//decrypt{V}"), &body);
        assert_eq!(
            unb64u(r.json()["value"].as_str().unwrap()),
            plaintext,
            "{alg}"
        );
        let mut tampered = body.clone();
        tampered["aad"] = json!(b64u(b"other"));
        let r = h.post(HSM, &format!("/keys/{key}//decrypt{V}"), &tampered);
        assert_eq!(r.status, 400, "{alg}: a wrong aad fails authentication");

        for alg in [format!("A{bits}CBC"), format!("A{bits}CBCPAD")] {
            let iv = [7u8; 16];
            let r = h.post(
                HSM,
                &format!("/keys/{key}//encrypt{V}"),
                &json!({"alg": alg, "value": b64u(&plaintext), "iv": b64u(&iv)}),
            );
            assert_eq!(r.status, 200, "{alg}: {}", r.body);
            let ct = r.json()["value"].as_str().unwrap().to_string();
            let r = h.post(
                HSM,
                &format!("/keys/{key}//decrypt{V}"),
                &json!({"alg": alg, "value": ct, "iv": b64u(&iv)}),
            );
            assert_eq!(
                unb64u(r.json()["value"].as_str().unwrap()),
                plaintext,
                "{alg}"
            );
        }

        for alg in [
            format!("A{bits}KW"),
            "CKM_AES_KEY_WRAP".into(),
            "CKM_AES_KEY_WRAP_PAD".into(),
        ] {
            let cek = [0x42u8; 32];
            let r = h.post(
                HSM,
                &format!("/keys/{key}//wrapkey{V}"),
                &json!({"alg": alg, "value": b64u(&cek)}),
            );
            assert_eq!(r.status, 200, "{alg}: {}", r.body);
            let wrapped = unb64u(r.json()["value"].as_str().unwrap());
            assert_eq!(wrapped.len(), 40, "{alg}");
            let r = h.post(
                HSM,
                &format!("/keys/{key}//unwrapkey{V}"),
                &json!({"alg": alg, "value": b64u(&wrapped)}),
            );
            assert_eq!(unb64u(r.json()["value"].as_str().unwrap()), cek, "{alg}");
        }
    }
    // RFC 3394 test vector (4.1: 128-bit KEK, 128-bit key data), independent of the emulator.
    let kek = hex("000102030405060708090A0B0C0D0E0F");
    let r = h.call(
        "PUT",
        HSM,
        &format!("/keys/vector{V}"),
        Some(&json!({"key": {"kty": "oct-HSM", "k": b64u(&kek)}})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = h.post(
        HSM,
        &format!("/keys/vector//wrapkey{V}"),
        &json!({"alg": "A128KW", "value": b64u(&hex("00112233445566778899AABBCCDDEEFF"))}),
    );
    assert_eq!(
        unb64u(r.json()["value"].as_str().unwrap()),
        hex("1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5")
    );

    // Wrong key size for the algorithm, wrap alg for encrypt, RSA alg on AES, bad lengths.
    for (op, body) in [
        ("encrypt", json!({"alg": "A256GCM", "value": b64u(b"x")})),
        (
            "encrypt",
            json!({"alg": "A128KW", "value": b64u(&[0u8; 16])}),
        ),
        (
            "wrapkey",
            json!({"alg": "A128GCM", "value": b64u(&[0u8; 16])}),
        ),
        ("encrypt", json!({"alg": "RSA-OAEP", "value": b64u(b"x")})),
        (
            "encrypt",
            json!({"alg": "A128CBC", "value": b64u(&[0u8; 15]), "iv": b64u(&[0u8; 16])}),
        ),
        ("decrypt", json!({"alg": "A128GCM", "value": b64u(b"x")})),
        (
            "wrapkey",
            json!({"alg": "A128KW", "value": b64u(&[0u8; 12])}),
        ),
        (
            "unwrapkey",
            json!({"alg": "A128KW", "value": b64u(&[0u8; 24])}),
        ),
    ] {
        let r = h.post(HSM, &format!("/keys/aes128//{op}{V}"), &body);
        assert_eq!(r.status, 400, "{op} {body}: {}", r.body);
        assert_eq!(r.code(), "BadParameter");
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn import_rsa_ec_and_aes_keys_and_use_them() {
    let h = Harness::new();
    let rsa = openssl::rsa::Rsa::generate(2048).unwrap();
    let b = |bn: &openssl::bn::BigNumRef| b64u(&bn.to_vec());
    let jwk = json!({"kty": "RSA", "n": b(rsa.n()), "e": b(rsa.e()), "d": b(rsa.d()), "p": b(rsa.p().unwrap()),
        "q": b(rsa.q().unwrap()), "dp": b(rsa.dmp1().unwrap()), "dq": b(rsa.dmq1().unwrap()), "qi": b(rsa.iqmp().unwrap()),
        "key_ops": ["sign", "verify"]});
    let r = h.call(
        "PUT",
        VAULT,
        &format!("/keys/imported{V}"),
        Some(&json!({"key": jwk, "hsm": true, "tags": {"a": "b"}})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["key"]["kty"], "RSA-HSM");
    assert_eq!(r.json()["key"]["n"], b(rsa.n()));
    assert_eq!(r.json()["key"]["key_ops"], json!(["sign", "verify"]));
    assert!(r.json()["key"].get("d").is_none());
    // A signature by the service verifies with the original key.
    let d = digest("256", b"imported");
    let r = h.post(
        VAULT,
        &format!("/keys/imported//sign{V}"),
        &json!({"alg": "RS256", "value": b64u(&d)}),
    );
    let sig = unb64u(r.json()["value"].as_str().unwrap());
    let pkey = openssl::pkey::PKey::from_rsa(rsa.clone()).unwrap();
    let mut v =
        openssl::sign::Verifier::new(openssl::hash::MessageDigest::sha256(), &pkey).unwrap();
    v.update(b"imported").unwrap();
    assert!(v.verify(&sig).unwrap());

    let group = openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::SECP384R1).unwrap();
    let ec = openssl::ec::EcKey::generate(&group).unwrap();
    let mut x = openssl::bn::BigNum::new().unwrap();
    let mut y = openssl::bn::BigNum::new().unwrap();
    ec.public_key()
        .affine_coordinates(
            &group,
            &mut x,
            &mut y,
            &mut openssl::bn::BigNumContext::new().unwrap(),
        )
        .unwrap();
    let jwk = json!({"kty": "EC", "crv": "P-384", "x": b64u(&x.to_vec_padded(48).unwrap()), "y": b64u(&y.to_vec_padded(48).unwrap()), "d": b64u(&ec.private_key().to_vec_padded(48).unwrap())});
    let r = h.call(
        "PUT",
        HSM,
        &format!("/keys/ec384{V}"),
        Some(&json!({"key": jwk})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json()["key"]["kty"],
        "EC-HSM",
        "Managed HSM keys are HSM keys"
    );
    assert_eq!(r.json()["key"]["x"], jwk["x"]);

    // Broken imports.
    let mut wrong_d = jwk.clone();
    wrong_d["d"] = json!(b64u(&[1u8; 48]));
    for body in [
        json!({"key": wrong_d}),
        json!({"key": {"kty": "RSA", "n": "AQAB", "e": "AQAB"}}),
        json!({"key": {"kty": "oct-HSM", "k": b64u(&[0u8; 10])}}),
        json!({"nokey": true}),
        json!({"key": {"kty": "EC", "crv": "P-384", "x": "!!", "y": "AA", "d": "AA"}}),
    ] {
        let r = h.call("PUT", HSM, &format!("/keys/broken{V}"), Some(&body));
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_eq!(r.code(), "BadParameter");
    }
}

#[test]
fn an_import_with_oversized_components_is_refused_at_once() {
    let h = Harness::new();
    let rsa = openssl::rsa::Rsa::generate(2048).unwrap();
    let b = |bn: &openssl::bn::BigNumRef| b64u(&bn.to_vec());
    // A 2048-bit modulus with a 2-megabit "prime": checking it would take the server hours.
    let mut huge = vec![0xffu8; 256 * 1024];
    huge[0] = 0x7f;
    for field in ["p", "d", "qi"] {
        let mut jwk = json!({"kty": "RSA", "n": b(rsa.n()), "e": b(rsa.e()), "d": b(rsa.d()),
            "p": b(rsa.p().unwrap()), "q": b(rsa.q().unwrap()), "dp": b(rsa.dmp1().unwrap()),
            "dq": b(rsa.dmq1().unwrap()), "qi": b(rsa.iqmp().unwrap())});
        jwk[field] = json!(b64u(&huge));
        let body = json!({ "key": jwk }).to_string();
        // A raw connection: its 30 s read timeout turns a hang into a failure.
        let mut raw = h.raw();
        raw.write(format!("PUT /keys/huge{V} HTTP/1.1\r\nHost: {VAULT}\r\nAuthorization: Bearer {}\r\nContent-Length: {}\r\n\r\n{body}", h.vault_token, body.len()).as_bytes());
        let started = std::time::Instant::now();
        let r = raw.read_reply().expect("an answer, not a hang");
        assert!(
            started.elapsed().as_secs() < 5,
            "{field}: {:?}",
            started.elapsed()
        );
        assert_eq!(r.status, 400, "{field}: {}", r.body);
        assert!(r.message().contains(field), "{field}: {}", r.message());
    }
    // The same numbers as EC coordinates or private scalar.
    for field in ["x", "y", "d"] {
        let mut jwk = json!({"kty": "EC", "crv": "P-256", "x": b64u(&[1u8; 32]),
            "y": b64u(&[2u8; 32]), "d": b64u(&[3u8; 32])});
        jwk[field] = json!(b64u(&huge));
        let started = std::time::Instant::now();
        let r = h.call("PUT", HSM, "/keys/huge-ec", Some(&json!({ "key": jwk })));
        assert!(
            started.elapsed().as_secs() < 5,
            "{field}: {:?}",
            started.elapsed()
        );
        assert_eq!(r.status, 400, "{field}: {}", r.body);
    }
}

#[test]
fn key_ops_enabled_nbf_and_exp_are_enforced() {
    let h = Harness::new();
    h.create_key_ops("vault:myvault:verifyonly=rsa:2048", &["verify"]);
    let d = b64u(&digest("256", b"m"));
    let r = h.post(
        VAULT,
        &format!("/keys/verifyonly//sign{V}"),
        &json!({"alg": "RS256", "value": d}),
    );
    assert_eq!(r.status, 403);
    assert_eq!(r.code(), "Forbidden");
    assert_eq!(r.message(), "Operation sign is not permitted on this key.");
    assert_eq!(
        r.json()["error"]["innererror"]["code"],
        "KeyOperationForbidden"
    );
    let r = h.post(
        VAULT,
        &format!("/keys/verifyonly//unwrapkey{V}"),
        &json!({"alg": "RSA-OAEP", "value": b64u(&[0u8; 256])}),
    );
    assert_eq!(r.status, 403);
    assert!(r.message().contains("unwrapKey"));

    let disabled = h
        .emu
        .create_key_with(
            &spec("vault:myvault:off=rsa:2048"),
            &json!({"attributes": {"enabled": false}}),
        )
        .unwrap();
    assert!(disabled.contains("/keys/off/"));
    let r = h.post(
        VAULT,
        &format!("/keys/off//sign{V}"),
        &json!({"alg": "RS256", "value": d}),
    );
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error"]["innererror"]["code"], "KeyDisabled");
    assert_eq!(
        r.message(),
        "Operation sign is not allowed on a disabled key."
    );
    // The public half still works on a disabled key, as on the service.
    let r = h.post(
        VAULT,
        &format!("/keys/off//encrypt{V}"),
        &json!({"alg": "RSA-OAEP", "value": b64u(b"x")}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        h.get(VAULT, &format!("/keys/off{V}")).json()["attributes"]["enabled"],
        false
    );

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    h.emu
        .create_key_with(
            &spec("vault:myvault:later=ec:P-256"),
            &json!({"attributes": {"nbf": now + 3600}}),
        )
        .unwrap();
    let r = h.post(
        VAULT,
        &format!("/keys/later//sign{V}"),
        &json!({"alg": "ES256", "value": d}),
    );
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error"]["innererror"]["code"], "KeyNotYetValid");
    h.emu
        .create_key_with(
            &spec("vault:myvault:old=ec:P-256"),
            &json!({"attributes": {"exp": now - 10}}),
        )
        .unwrap();
    let r = h.post(
        VAULT,
        &format!("/keys/old//sign{V}"),
        &json!({"alg": "ES256", "value": d}),
    );
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error"]["innererror"]["code"], "KeyExpired");
    // Verifying with an expired key is allowed.
    let r = h.post(
        VAULT,
        &format!("/keys/old//verify{V}"),
        &json!({"alg": "ES256", "digest": d, "value": b64u(&[1u8; 64])}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["value"], false);
    let r = h.get(VAULT, &format!("/keys/old{V}"));
    assert_eq!(r.json()["attributes"]["exp"], now - 10);
}

#[test]
fn patch_updates_attributes_and_key_ops() {
    let h = Harness::new();
    let (name, version) = h.create("vault:myvault:p=rsa:2048");
    let d = b64u(&digest("256", b"m"));
    let r = h.call(
        "PATCH",
        VAULT,
        &format!("/keys/{name}/{version}{V}"),
        Some(&json!({"attributes": {"enabled": false}, "tags": {"x": "y"}})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["attributes"]["enabled"], false);
    assert_eq!(r.json()["tags"]["x"], "y");
    assert_eq!(
        h.post(
            VAULT,
            &format!("/keys/p/{version}/sign{V}"),
            &json!({"alg": "RS256", "value": d})
        )
        .status,
        403
    );
    let r = h.call(
        "PATCH",
        VAULT,
        &format!("/keys/{name}/{V}"),
        Some(&json!({"attributes": {"enabled": true}, "key_ops": ["sign"]})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        h.post(
            VAULT,
            &format!("/keys/p/{version}/sign{V}"),
            &json!({"alg": "RS256", "value": d})
        )
        .status,
        200
    );
    assert_eq!(
        h.post(
            VAULT,
            &format!("/keys/p//encrypt{V}"),
            &json!({"alg": "RSA-OAEP", "value": b64u(b"x")})
        )
        .status,
        403
    );
    let r = h.call(
        "PATCH",
        VAULT,
        &format!("/keys/{name}/{version}{V}"),
        Some(&json!({"key_ops": ["teleport"]})),
    );
    assert_eq!(r.status, 400);
}

#[test]
fn delete_then_get_deleted_recover_and_purge() {
    let h = Harness::new();
    h.create("vault:myvault:gone=ec:P-256");
    let r = h.call("DELETE", VAULT, &format!("/keys/gone{V}"), None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json()["recoveryId"],
        "https://myvault.vault.azure.net/deletedkeys/gone"
    );
    assert!(r.json()["deletedDate"].is_i64());
    assert_eq!(h.get(VAULT, &format!("/keys/gone{V}")).status, 404);
    assert_eq!(h.get(VAULT, &format!("/deletedkeys/gone{V}")).status, 200);
    assert_eq!(
        h.get(VAULT, &format!("/deletedkeys{V}")).json()["value"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // The name cannot be reused while the key is recoverable.
    let r = h.post(
        VAULT,
        &format!("/keys/gone/create{V}"),
        &json!({"kty": "EC"}),
    );
    assert_eq!(r.status, 409);
    assert_eq!(r.code(), "Conflict");
    let r = h.call(
        "POST",
        VAULT,
        &format!("/deletedkeys/gone/recover{V}"),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(h.get(VAULT, &format!("/keys/gone{V}")).status, 200);
    assert_eq!(
        h.call("DELETE", VAULT, &format!("/keys/gone{V}"), None)
            .status,
        200
    );
    assert_eq!(
        h.call("DELETE", VAULT, &format!("/deletedkeys/gone{V}"), None)
            .status,
        204
    );
    assert_eq!(h.get(VAULT, &format!("/deletedkeys/gone{V}")).status, 404);
    assert_eq!(
        h.post(
            VAULT,
            &format!("/keys/gone/create{V}"),
            &json!({"kty": "EC"})
        )
        .status,
        200
    );
    assert_eq!(
        h.call("DELETE", VAULT, &format!("/keys/nothere{V}"), None)
            .status,
        404
    );
}

#[test]
fn api_version_is_required_by_a_vault_and_optional_on_a_managed_hsm() {
    let h = Harness::new();
    h.create("vault:myvault:k=ec:P-256");
    h.create("managedHsm:myhsm:k=ec:P-256");
    let r = h.get(VAULT, "/keys/k");
    assert_eq!(r.status, 400);
    assert_eq!(r.code(), "BadParameter");
    assert!(r.message().contains("api-version"), "{}", r.body);
    assert_eq!(h.get(HSM, "/keys/k").status, 200);
    for v in [
        "7.0",
        "7.1",
        "7.2",
        "7.3",
        "7.4",
        "7.5",
        "7.6",
        "2025-07-01",
    ] {
        assert_eq!(
            h.get(VAULT, &format!("/keys/k?api-version={v}")).status,
            200,
            "{v}"
        );
    }
    let r = h.get(VAULT, "/keys/k?api-version=9.9");
    assert_eq!(r.status, 400);
    assert!(r.message().contains("9.9"));
    let r = h.get(HSM, "/keys/k?api-version=1999-01-01");
    assert_eq!(r.status, 400);
}

#[test]
fn unknown_paths_methods_names_and_hosts_are_clear_errors() {
    let h = Harness::new();
    let r = h.get(VAULT, &format!("/secrets/s{V}"));
    assert_eq!(r.status, 404);
    let r = h.call(
        "PUT",
        VAULT,
        &format!("/keys/k/versions{V}"),
        Some(&json!({})),
    );
    assert_eq!(r.status, 405);
    let r = h.get(VAULT, &format!("/keys/under_score{V}"));
    assert_eq!(r.status, 400);
    assert!(r.message().contains("under_score"));
    let r = h.send(
        "GET",
        "x.vault.azure.net",
        &format!("/keys/k{V}"),
        Some(&h.vault_token),
        None,
    );
    assert_eq!(r.status, 400);
    assert!(r.message().contains("vault name"), "{}", r.body);
    let r = h.send(
        "GET",
        "example.com",
        &format!("/keys/k{V}"),
        Some(&h.vault_token),
        None,
    );
    assert_eq!(r.status, 400);
    assert!(r.message().contains("example.com"), "{}", r.body);
    let r = h.post(HSM, &format!("/rng{V}"), &json!({"count": 16}));
    assert_eq!(unb64u(r.json()["value"].as_str().unwrap()).len(), 16);
    assert_eq!(
        h.post(HSM, &format!("/rng{V}"), &json!({"count": 0}))
            .status,
        400
    );
}
