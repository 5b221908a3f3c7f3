//! Bad input ends with a non-zero exit and a stderr line naming the problem: no crash, no
//! hang (every run has a deadline), and no remote private-key call when the provider can
//! refuse up front.

mod common;

use common::{Harness, random_bytes};
use serde_json::json;

fn sign(h: &Harness, uri: &str) -> common::Run {
    let digest = h.write("d", &random_bytes(32));
    h.sign_digest(uri, &digest, "sig", &[])
}

#[test]
fn unknown_key_names_the_key_and_the_service_code() {
    let h = Harness::start(&["vault:myvault:rsa1=rsa:2048"]);
    sign(&h, "akv:vault:myvault:nosuchkey").fails_with(&[
        "key 'nosuchkey' in vault 'myvault' not found",
        "KeyNotFound",
    ]);
    assert_eq!(h.count("sign"), 0);
}

#[test]
fn unknown_vault_names_the_vault() {
    let h = Harness::start(&["vault:myvault:rsa1=rsa:2048"]);
    sign(&h, "akv:vault:othervault:rsa1").fails_with(&["vault 'othervault'"]);
    sign(&h, "akv:managedHsm:nohsm:rsa1").fails_with(&["Managed HSM 'nohsm'"]);
}

#[test]
fn disabled_key_fails_with_the_service_reason() {
    let h = Harness::start(&[]);
    let spec = akv_emulator::KeySpec::parse("vault:myvault:off=rsa:2048").unwrap();
    h.emulator
        .create_key_with(&spec, &json!({"attributes": {"enabled": false}}))
        .unwrap();
    sign(&h, "akv:vault:myvault:off").fails_with(&["key 'off' in vault 'myvault'"]);
    let stderr = sign(&h, "akv:vault:myvault:off").stderr();
    assert!(stderr.to_lowercase().contains("disabled"), "{stderr}");
}

#[test]
fn operation_outside_key_ops_is_refused_without_a_remote_call() {
    let h = Harness::start(&[]);
    let spec = akv_emulator::KeySpec::parse("vault:myvault:verifyonly=rsa:2048").unwrap();
    h.emulator
        .create_key_with(&spec, &json!({"key_ops": ["verify", "encrypt"]}))
        .unwrap();
    sign(&h, "akv:vault:myvault:verifyonly").fails_with(&[
        "sign not permitted on key 'verifyonly' in vault 'myvault'",
        "verify, encrypt",
    ]);
    let ct = h.write("ct", &random_bytes(256));
    h.openssl(&[
        "pkeyutl",
        "-decrypt",
        "-inkey",
        "akv:vault:myvault:verifyonly",
        "-in",
        &ct,
        "-out",
        "out",
    ])
    .fails_with(&["decrypt not permitted"]);
    assert_eq!(h.count("sign"), 0);
    assert_eq!(h.count("decrypt"), 0);
}

#[test]
fn malformed_uris_name_the_bad_part_before_any_request() {
    let h = Harness::start(&[]);
    for (uri, needle) in [
        ("akv:vault:my_vault:rsa1", "my_vault"),
        ("akv:vault:ab:rsa1", "ab"),
        ("akv:vault:myvault:bad.key", "bad.key"),
        ("akv:cupboard:myvault:rsa1", "cupboard"),
        ("akv:vault:myvault:rsa1:not-a-version!", "not-a-version!"),
        ("akv:https://myvault.example.com/keys/rsa1", "example.com"),
        ("managedhsm:myhsm", "managedhsm:myhsm"),
    ] {
        sign(&h, uri).fails_with(&["invalid key URI", needle]);
    }
    // Whatever the URI holds, our message quotes it escaped and shortened (openssl itself
    // echoes it raw on another line).
    let long = format!("akv:vault:myvault:k\u{1b}[31m{}", "k".repeat(5000));
    let stderr = sign(&h, &long).fails_with(&["invalid key URI"]).stderr();
    let ours = stderr
        .lines()
        .find(|l| l.contains(":akv:store_open:"))
        .expect("the provider's error line");
    assert!(ours.len() < 1000, "{} bytes: {ours}", ours.len());
    assert!(
        ours.contains("\\u{1b}") && !ours.contains('\u{1b}'),
        "{ours}"
    );
    assert!(h.key_requests().is_empty(), "{:?}", h.key_requests());
}

#[test]
fn sha1_and_other_unsupported_digests_are_refused_before_any_call() {
    let h = Harness::start(&["vault:myvault:rsa1=rsa:2048", "vault:myvault:p256=ec:P-256"]);
    let msg = h.write("msg", b"data");
    h.openssl(&[
        "dgst",
        "-sha1",
        "-sign",
        "akv:vault:myvault:rsa1",
        "-out",
        "sig",
        &msg,
    ])
    .fails_with(&["digest 'SHA1' is not supported"]);
    h.openssl(&[
        "dgst",
        "-sha224",
        "-sign",
        "akv:vault:myvault:rsa1",
        "-out",
        "sig",
        &msg,
    ])
    .fails_with(&["sha224", "not supported"]);
    // ES256 only pairs P-256 with SHA-256.
    h.openssl(&[
        "dgst",
        "-sha384",
        "-sign",
        "akv:vault:myvault:p256",
        "-out",
        "sig",
        &msg,
    ])
    .fails_with(&["only with SHA256 (ES256)"]);
    // A 20-byte (SHA-1 sized) digest cannot be mapped to a service algorithm.
    let d20 = h.write("d20", &random_bytes(20));
    h.openssl(&[
        "pkeyutl",
        "-sign",
        "-inkey",
        "akv:vault:myvault:rsa1",
        "-in",
        &d20,
        "-out",
        "sig",
    ])
    .fails_with(&["20 bytes"]);
    // EVP_PKEY_sign with a named digest: refused when the digest is set (set_ctx_params).
    for (uri, input, digest, needle) in [
        (
            "akv:vault:myvault:rsa1",
            &d20,
            "digest:sha1",
            "digest 'SHA1' is not supported",
        ),
        (
            "akv:vault:myvault:p256",
            &d20,
            "digest:sha384",
            "only with SHA256 (ES256)",
        ),
    ] {
        h.sign_digest(uri, input, "sig", &["-pkeyopt", digest])
            .fails_with(&["signature_set_ctx_params", needle]);
    }
    assert_eq!(h.count("sign"), 0);
}

#[test]
fn pss_with_another_salt_length_is_refused() {
    let h = Harness::start(&["vault:myvault:rsa1=rsa:2048"]);
    let uri = "akv:vault:myvault:rsa1";
    let msg = h.write("msg", b"data");
    for (salt, needle) in [
        ("rsa_pss_saltlen:20", "PSS salt length 20 is not supported"),
        (
            "rsa_pss_saltlen:max",
            "PSS salt length 'max' is not supported",
        ),
    ] {
        h.openssl(&[
            "dgst",
            "-sha256",
            "-sign",
            uri,
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            salt,
            "-out",
            "sig",
            &msg,
        ])
        .fails_with(&["signature_set_ctx_params", needle]);
    }
    h.openssl(&[
        "req",
        "-new",
        "-x509",
        "-key",
        uri,
        "-subj",
        "/CN=x",
        "-sigopt",
        "rsa_padding_mode:pss",
        "-sigopt",
        "rsa_pss_saltlen:64",
        "-out",
        "x.crt",
    ])
    .fails_with(&["PSS salt length 64"]);
    h.openssl(&[
        "dgst",
        "-sha256",
        "-sign",
        uri,
        "-sigopt",
        "rsa_padding_mode:x931",
        "-out",
        "sig",
        &msg,
    ])
    .fails_with(&["padding mode", "x931"]);
    // EVP_PKEY_sign with no digest named: the digest comes from the input's length, and the
    // salt is checked against it before the call.
    let digest = h.write("d32", &random_bytes(32));
    for (salt, needle) in [
        ("rsa_pss_saltlen:20", "PSS salt length 20 is not supported"),
        ("rsa_pss_saltlen:48", "PSS salt length 48 is not supported"),
    ] {
        h.openssl(&[
            "pkeyutl",
            "-sign",
            "-inkey",
            uri,
            "-in",
            &digest,
            "-out",
            "sig",
            "-pkeyopt",
            "rsa_padding_mode:pss",
            "-pkeyopt",
            salt,
        ])
        .fails_with(&[needle]);
    }
    assert_eq!(h.count("sign"), 0);
}

#[test]
fn service_throttling_and_unreachable_service_fail_cleanly() {
    let h = Harness::start(&["vault:myvault:rsa1=rsa:2048"]);
    h.emulator
        .add_faults(&json!([{"op": "sign", "status": 429, "retry_after": 0, "count": 20}]))
        .unwrap();
    sign(&h, "akv:vault:myvault:rsa1").fails_with(&["key 'rsa1' in vault 'myvault'", "429"]);
    h.emulator.clear_faults();

    // Nothing listens on the configured address (set through openssl.cnf alone).
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap().to_string();
    drop(closed);
    let digest = h.write("d", &random_bytes(32));
    let settings = format!(
        "connect_to = {addr}\nca_file = {}\nimds_endpoint = {}\nmax_retries = 0\n\
         timeout_ms = 2000\n",
        h.emulator.ca_path().display(),
        h.emulator.imds_url()
    );
    h.openssl_with_config(
        &settings,
        &[
            "pkeyutl",
            "-sign",
            "-inkey",
            "akv:vault:myvault:rsa1",
            "-in",
            &digest,
            "-out",
            "sig",
        ],
    )
    .fails_with(&["key 'rsa1' in vault 'myvault'", "connection refused"]);
}
