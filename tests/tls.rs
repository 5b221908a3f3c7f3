//! Real TLS handshakes with the server key in the (emulated) service: `openssl s_server`
//! with akv, `openssl s_client` with the default provider alone checking the certificate.

mod common;

use common::Harness;

fn server_cert(h: &Harness, uri: &str, name: &str) -> String {
    let cert = h.path(name);
    h.openssl(&[
        "req",
        "-new",
        "-x509",
        "-key",
        uri,
        "-subj",
        "/CN=localhost",
        "-days",
        "1",
        "-out",
        &cert,
    ])
    .ok();
    cert
}

fn client(h: &Harness, addr: &str, ca: &str, extra: &[&str]) -> common::Run {
    let mut args = vec![
        "s_client",
        "-connect",
        addr,
        "-CAfile",
        ca,
        "-verify_return_error",
        "-brief",
    ];
    args.extend_from_slice(extra);
    h.openssl_default(&args)
}

fn transcript(run: &common::Run) -> String {
    run.stdout() + &run.stderr()
}

#[test]
fn tls13_and_tls12_handshakes_with_a_remote_rsa_key() {
    let h = Harness::start(&["vault:myvault:tls=rsa:2048"]);
    let uri = "akv:vault:myvault:tls";
    let cert = server_cert(&h, uri, "rsa.crt");
    let server = h.s_server(&["-key", uri, "-cert", &cert]);
    let signs_before = h.count("sign");

    let tls13 = client(&h, &server.addr, &cert, &["-tls1_3"]).ok();
    let t = transcript(&tls13);
    assert!(t.contains("Protocol version: TLSv1.3"), "{t}");
    assert!(t.contains("Signature type: RSA-PSS"), "{t}");
    assert!(t.contains("Verification: OK"), "{t}");

    let tls12 = client(
        &h,
        &server.addr,
        &cert,
        &[
            "-tls1_2",
            "-sigalgs",
            "RSA+SHA256",
            "-cipher",
            "ECDHE-RSA-AES128-GCM-SHA256",
        ],
    )
    .ok();
    let t = transcript(&tls12);
    assert!(t.contains("Protocol version: TLSv1.2"), "{t}");
    assert!(t.contains("Signature type: RSA"), "{t}");

    // One remote signature per handshake.
    assert_eq!(h.count("sign") - signs_before, 2);
}

#[test]
fn rsa_key_exchange_is_refused_without_a_remote_decrypt() {
    let h = Harness::start(&["vault:myvault:tls=rsa:2048"]);
    let uri = "akv:vault:myvault:tls";
    let cert = server_cert(&h, uri, "rsa.crt");
    let server = h.s_server(&["-key", uri, "-cert", &cert]);
    let run = client(
        &h,
        &server.addr,
        &cert,
        &["-tls1_2", "-cipher", "AES128-GCM-SHA256"],
    );
    assert_ne!(run.output.status.code(), Some(0), "{}", transcript(&run));
    // The server refused TLS padding in set_ctx_params: decrypt_error, no remote call.
    assert!(
        transcript(&run).contains("alert decrypt error"),
        "{}",
        transcript(&run)
    );
    assert_eq!(h.count("decrypt"), 0);
}

#[test]
fn tls13_handshakes_with_remote_ec_keys_use_the_matching_sigalg() {
    let h = Harness::start(&[
        "managedHsm:myhsm:p256=ec:P-256",
        "managedHsm:myhsm:p384=ec:P-384",
    ]);
    for (uri, sigalg) in [
        ("akv:managedHsm:myhsm:p256", "ecdsa_secp256r1_sha256"),
        ("akv:managedHsm:myhsm:p384", "ecdsa_secp384r1_sha384"),
    ] {
        let cert = server_cert(&h, uri, "ec.crt");
        let server = h.s_server(&["-key", uri, "-cert", &cert]);
        let run = client(&h, &server.addr, &cert, &["-tls1_3", "-sigalgs", sigalg]).ok();
        let t = transcript(&run);
        assert!(t.contains("Signature type: ECDSA"), "{t}");
        assert!(t.contains("Verification: OK"), "{t}");
    }
}
