//! Certificates, CSRs, chains and CMS signed by remote keys, each checked by the default
//! provider alone (`openssl verify`, `req -verify`, `cms -verify`, `x509 -text`).

mod common;

use common::Harness;

fn self_signed(h: &Harness, uri: &str, out: &str, extra: &[&str]) -> String {
    let cert = h.path(out);
    let mut args = vec![
        "req",
        "-new",
        "-x509",
        "-key",
        uri,
        "-subj",
        "/CN=akv test",
        "-days",
        "2",
        "-out",
        &cert,
    ];
    args.extend_from_slice(extra);
    h.openssl(&args).ok();
    h.openssl_default(&["verify", "-CAfile", &cert, &cert]).ok();
    cert
}

fn text(h: &Harness, cert: &str) -> String {
    h.openssl_default(&["x509", "-in", cert, "-noout", "-text"])
        .ok()
        .stdout()
}

/// The certificate's public key is the service's key: same SPKI as `pkey -pubout`.
fn assert_cert_key_is(h: &Harness, cert: &str, public: &str) {
    let from_cert = h
        .openssl_default(&["x509", "-in", cert, "-noout", "-pubkey"])
        .ok()
        .stdout();
    let exported = std::fs::read_to_string(public).unwrap();
    assert_eq!(from_cert.trim(), exported.trim());
}

#[test]
fn req_x509_rsa_pkcs1_verifies_with_sha256_with_rsa_encryption() {
    let h = Harness::start(&["vault:myvault:rsa1=rsa:2048"]);
    let uri = "akv:vault:myvault:rsa1";
    let cert = self_signed(&h, uri, "rsa.crt", &["-sha256"]);
    let text = text(&h, &cert);
    assert!(
        text.contains("Signature Algorithm: sha256WithRSAEncryption"),
        "{text}"
    );
    assert_cert_key_is(&h, &cert, &h.export_public(uri, "rsa.pub"));
    assert_eq!(h.count("sign"), 1);
}

#[test]
fn req_x509_rsa_pss_carries_sha256_mgf1_sha256_salt_32() {
    let h = Harness::start(&["vault:myvault:rsa1=rsa:2048"]);
    let cert = self_signed(
        &h,
        "akv:vault:myvault:rsa1",
        "pss.crt",
        &["-sha256", "-sigopt", "rsa_padding_mode:pss"],
    );
    let text = text(&h, &cert);
    for expected in [
        "Signature Algorithm: rsassaPss",
        "Hash Algorithm: sha256",
        "Mask Algorithm: mgf1 with sha256",
        "Salt Length: 0x20",
    ] {
        assert!(text.contains(expected), "missing '{expected}' in:\n{text}");
    }
    assert_eq!(h.count("sign"), 1);
}

#[test]
fn req_x509_ec_p256_and_p384_use_the_curve_digest_without_a_digest_option() {
    let h = Harness::start(&[
        "managedHsm:myhsm:p256=ec:P-256",
        "managedHsm:myhsm:p384=ec:P-384",
    ]);
    for (uri, alg) in [
        ("akv:managedHsm:myhsm:p256", "ecdsa-with-SHA256"),
        ("akv:managedHsm:myhsm:p384", "ecdsa-with-SHA384"),
    ] {
        let cert = self_signed(&h, uri, "ec.crt", &[]);
        let text = text(&h, &cert);
        assert!(
            text.contains(&format!("Signature Algorithm: {alg}")),
            "{uri}: {text}"
        );
        assert_cert_key_is(&h, &cert, &h.export_public(uri, "ec.pub"));
    }
    assert_eq!(h.count("sign"), 2);
}

#[test]
fn csr_signed_by_the_remote_key_passes_req_verify() {
    let h = Harness::start(&["vault:myvault:rsa1=rsa:2048", "vault:myvault:ec1=ec:P-256"]);
    for (uri, extra) in [
        ("akv:vault:myvault:rsa1", vec!["-sha384"]),
        (
            "akv:vault:myvault:rsa1",
            vec!["-sigopt", "rsa_padding_mode:pss"],
        ),
        ("akv:vault:myvault:ec1", vec![]),
    ] {
        let csr = h.path("req.csr");
        let mut args = vec![
            "req",
            "-new",
            "-key",
            uri,
            "-subj",
            "/CN=csr test",
            "-out",
            &csr,
        ];
        args.extend(extra.iter().copied());
        h.openssl(&args).ok();
        let out = h
            .openssl_default(&["req", "-in", &csr, "-verify", "-noout"])
            .ok();
        assert!(
            out.stderr().contains("verify OK") || out.stdout().contains("verify OK"),
            "{}",
            out.stderr()
        );
    }
    assert_eq!(h.count("sign"), 3);
}

#[test]
fn two_level_chain_with_a_remote_ca_key_verifies_with_cafile() {
    let h = Harness::start(&["managedHsm:myhsm:ca=ec:P-384"]);
    let ca_uri = "akv:managedHsm:myhsm:ca";
    let ca = self_signed(
        &h,
        ca_uri,
        "ca.crt",
        &[
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=keyCertSign",
        ],
    );
    // A local leaf key and CSR (default provider only), signed by the remote CA key.
    let leaf_key = h.path("leaf.key");
    h.openssl_default(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        &leaf_key,
    ])
    .ok();
    let leaf_csr = h.path("leaf.csr");
    h.openssl_default(&[
        "req",
        "-new",
        "-key",
        &leaf_key,
        "-subj",
        "/CN=leaf.example",
        "-out",
        &leaf_csr,
    ])
    .ok();
    let leaf = h.path("leaf.crt");
    h.openssl(&[
        "x509",
        "-req",
        "-in",
        &leaf_csr,
        "-CA",
        &ca,
        "-CAkey",
        ca_uri,
        "-CAcreateserial",
        "-days",
        "1",
        "-out",
        &leaf,
    ])
    .ok();
    let out = h.openssl_default(&["verify", "-CAfile", &ca, &leaf]).ok();
    assert!(out.stdout().contains("leaf.crt: OK"), "{}", out.stdout());
    assert_eq!(h.count("sign"), 2);
}

#[test]
fn cms_sign_with_a_remote_key_verifies_with_cms_verify() {
    let h = Harness::start(&[
        "vault:myvault:rsa1=rsa:2048",
        "managedHsm:myhsm:ec1=ec:P-256",
    ]);
    let msg = h.write("msg.txt", b"signed content\n");
    for uri in ["akv:vault:myvault:rsa1", "akv:managedHsm:myhsm:ec1"] {
        let cert = self_signed(&h, uri, "signer.crt", &[]);
        let signed = h.path("msg.p7s");
        h.openssl(&[
            "cms",
            "-sign",
            "-nodetach",
            "-binary",
            "-in",
            &msg,
            "-signer",
            &cert,
            "-inkey",
            uri,
            "-outform",
            "DER",
            "-out",
            &signed,
        ])
        .ok();
        let content = h.path("verified.txt");
        h.openssl_default(&[
            "cms", "-verify", "-binary", "-inform", "DER", "-in", &signed, "-CAfile", &cert,
            "-out", &content,
        ])
        .ok();
        assert_eq!(h.read("verified.txt"), b"signed content\n");
    }
    // One self-signed certificate and one CMS signature per key.
    assert_eq!(h.count("sign"), 4);
}
