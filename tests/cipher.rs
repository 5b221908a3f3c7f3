//! RSA encryption: encrypt locally (through akv or with the exported public key under the
//! default provider), decrypt remotely; the emulator sees only the decrypts.

mod common;

use common::{Harness, random_bytes};

const PADDINGS: [(&str, &[&str]); 3] = [
    ("pkcs1", &["-pkeyopt", "rsa_padding_mode:pkcs1"]),
    ("oaep-sha1", &["-pkeyopt", "rsa_padding_mode:oaep"]),
    (
        "oaep-sha256",
        &[
            "-pkeyopt",
            "rsa_padding_mode:oaep",
            "-pkeyopt",
            "rsa_oaep_md:sha256",
        ],
    ),
];

#[test]
fn pkeyutl_encrypt_then_decrypt_each_padding_counts_only_decrypts() {
    let h = Harness::start(&["vault:myvault:rsa1=rsa:2048"]);
    let uri = "akv:vault:myvault:rsa1";
    let public = h.export_public(uri, "rsa1.pub");
    let plaintext = random_bytes(32);
    let input = h.write("plain.bin", &plaintext);
    for (name, opts) in PADDINGS {
        // Encrypt through akv (local with the public key) ...
        let ct_akv = h.path(&format!("{name}.akv.ct"));
        let mut args = vec![
            "pkeyutl", "-encrypt", "-inkey", uri, "-in", &input, "-out", &ct_akv,
        ];
        args.extend_from_slice(opts);
        h.openssl(&args).ok();
        // ... and independently with the default provider alone.
        let ct_default = h.path(&format!("{name}.default.ct"));
        let mut args = vec![
            "pkeyutl",
            "-encrypt",
            "-pubin",
            "-inkey",
            &public,
            "-in",
            &input,
            "-out",
            &ct_default,
        ];
        args.extend_from_slice(opts);
        h.openssl_default(&args).ok();

        for ct in [&ct_akv, &ct_default] {
            let out_name = format!("{name}.out");
            let out = h.path(&out_name);
            let mut args = vec![
                "pkeyutl", "-decrypt", "-inkey", uri, "-in", ct, "-out", &out,
            ];
            args.extend_from_slice(opts);
            h.openssl(&args).ok();
            assert_eq!(h.read(&out_name), plaintext, "{name}: round trip");
        }
    }
    assert_eq!(h.count("encrypt"), 0, "encryption must stay local");
    assert_eq!(h.count("decrypt"), 6);
}

#[test]
fn decrypt_with_an_oaep_digest_the_service_lacks_is_refused_before_any_call() {
    let h = Harness::start(&["vault:myvault:rsa1=rsa:2048"]);
    let uri = "akv:vault:myvault:rsa1";
    let ct = h.write("ct.bin", &random_bytes(256));
    h.openssl(&[
        "pkeyutl",
        "-decrypt",
        "-inkey",
        uri,
        "-in",
        &ct,
        "-out",
        "out.bin",
        "-pkeyopt",
        "rsa_padding_mode:oaep",
        "-pkeyopt",
        "rsa_oaep_md:sha512",
    ])
    .fails_with(&["OAEP digest", "sha512"]);
    h.openssl(&[
        "pkeyutl",
        "-decrypt",
        "-inkey",
        uri,
        "-in",
        &ct,
        "-out",
        "out.bin",
        "-pkeyopt",
        "rsa_padding_mode:none",
    ])
    .fails_with(&["padding mode", "not supported"]);
    assert_eq!(h.count("decrypt"), 0);
}
