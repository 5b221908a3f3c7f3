//! Signatures through the akv provider with the real openssl CLI against the emulator; every
//! signature is checked by the default provider alone with the exported public key.

mod common;

use common::{Harness, random_bytes};

/// `pkeyutl -sign` with an RSA key; the digest is taken from the input length.
#[test]
fn pkeyutl_sign_rs256_rs384_rs512_verifies_with_exported_public_key() {
    let h = Harness::start(&["vault:myvault:rsa1=rsa:2048"]);
    let uri = "akv:vault:myvault:rsa1";
    let public = h.export_public(uri, "rsa1.pub");
    for (len, md) in [(32, "sha256"), (48, "sha384"), (64, "sha512")] {
        let digest = h.write(&format!("d{len}"), &random_bytes(len));
        let sig = h.path(&format!("rs{len}.sig"));
        h.sign_digest(uri, &digest, &sig, &[]).ok();
        let digest_opt = format!("digest:{md}");
        h.verify_digest(&public, &digest, &sig, &["-pkeyopt", &digest_opt])
            .ok();
        // The provider's own verify is local: no request.
        h.openssl(&[
            "pkeyutl",
            "-verify",
            "-inkey",
            uri,
            "-in",
            &digest,
            "-sigfile",
            &sig,
            "-pkeyopt",
            &digest_opt,
        ])
        .ok();
    }
    assert_eq!(h.count("sign"), 3);
    assert_eq!(h.count("verify"), 0);
    // One GET per load: pubout + 3 × (sign, verify).
    assert_eq!(h.count("get_key"), 7);
}

#[test]
fn pkeyutl_sign_ps256_ps384_ps512_verifies_with_salt_equal_to_digest_length() {
    let h = Harness::start(&["vault:myvault:rsa3k=rsa:3072"]);
    let uri = "akv:vault:myvault:rsa3k";
    let public = h.export_public(uri, "rsa3k.pub");
    for (len, md) in [(32, "sha256"), (48, "sha384"), (64, "sha512")] {
        let digest = h.write(&format!("d{len}"), &random_bytes(len));
        let sig = h.path(&format!("ps{len}.sig"));
        let digest_opt = format!("digest:{md}");
        let pss = ["-pkeyopt", "rsa_padding_mode:pss", "-pkeyopt", &digest_opt];
        h.sign_digest(uri, &digest, &sig, &pss).ok();
        // A strict salt length: the signature must use salt = hash length.
        let salt_opt = format!("rsa_pss_saltlen:{len}");
        h.verify_digest(
            &public,
            &digest,
            &sig,
            &[&pss[..], &["-pkeyopt", &salt_opt]].concat(),
        )
        .ok();
    }
    assert_eq!(h.count("sign"), 3);
}

#[test]
fn pkeyutl_sign_es256_es384_es512_es256k_verifies_with_exported_public_key() {
    let h = Harness::start(&[
        "managedHsm:myhsm:p256=ec:P-256",
        "managedHsm:myhsm:p384=ec:P-384",
        "managedHsm:myhsm:p521=ec:P-521",
        "vault:myvault:k256=ec:P-256K",
    ]);
    for (uri, len) in [
        ("akv:managedHsm:myhsm:p256", 32),
        ("akv:managedHsm:myhsm:p384", 48),
        ("akv:managedHsm:myhsm:p521", 64),
        ("akv:vault:myvault:k256", 32),
    ] {
        let name = uri.rsplit(':').next().unwrap();
        let public = h.export_public(uri, &format!("{name}.pub"));
        let digest = h.write(&format!("{name}.dgst"), &random_bytes(len));
        let sig = h.path(&format!("{name}.sig"));
        h.sign_digest(uri, &digest, &sig, &[]).ok();
        h.verify_digest(&public, &digest, &sig, &[]).ok();
        h.openssl(&[
            "pkeyutl", "-verify", "-inkey", uri, "-in", &digest, "-sigfile", &sig,
        ])
        .ok();
    }
    assert_eq!(h.count("sign"), 4);
    assert_eq!(h.count("verify"), 0);
}

/// Issue 4 item 6: the user's command as written, with no other provider loaded.
#[test]
fn users_pkeyutl_command_with_only_akv_loaded_signs_with_a_managed_hsm_key() {
    let h = Harness::start(&[
        "managedHsm:myHsm:myKey=rsa:2048",
        "managedHsm:myHsm:myEcKey=ec:P-384",
    ]);
    for (uri, len, md) in [
        ("akv:managedHsm:myHsm:myKey", 32, Some("sha256")),
        ("akv:managedHsm:myHsm:myKey", 64, Some("sha512")),
        ("akv:managedHsm:myHsm:myEcKey", 48, None),
    ] {
        let digest = h.write("digest.bin", &random_bytes(len));
        h.openssl_raw(&[
            "pkeyutl",
            "-provider",
            "akv",
            "-sign",
            "-inkey",
            uri,
            "-in",
            "digest.bin",
            "-out",
            "sig",
        ])
        .ok();
        let public = h.export_public(uri, "pub.pem");
        let sig = h.path("sig");
        let digest_opt = md.map(|m| format!("digest:{m}"));
        let opts: Vec<&str> = match &digest_opt {
            Some(opt) => vec!["-pkeyopt", opt],
            None => vec![],
        };
        h.verify_digest(&public, &digest, &sig, &opts).ok();
    }
    assert_eq!(h.count("sign"), 3);
}

#[test]
fn pkeyutl_digest_option_overrides_the_length_rule() {
    let h = Harness::start(&["vault:myvault:rsa1=rsa:2048"]);
    let uri = "akv:vault:myvault:rsa1";
    let public = h.export_public(uri, "rsa1.pub");
    let digest = h.write("d32", &random_bytes(32));
    let sig = h.path("sig");
    // 32 bytes would mean SHA-256; a named digest of another size is refused clearly.
    h.sign_digest(uri, &digest, &sig, &["-pkeyopt", "digest:sha384"])
        .fails_with(&["32 bytes", "SHA384"]);
    let sha256 = ["-pkeyopt", "digest:sha256"];
    h.sign_digest(uri, &digest, &sig, &sha256).ok();
    h.verify_digest(&public, &digest, &sig, &sha256).ok();
    assert_eq!(h.count("sign"), 1);
}

#[test]
fn dgst_sign_pkcs1_sha256_sha384_sha512_verifies() {
    let h = Harness::start(&["vault:myvault:rsa1=rsa:2048"]);
    let uri = "akv:vault:myvault:rsa1";
    let public = h.export_public(uri, "rsa1.pub");
    let msg = h.write("msg.txt", &random_bytes(10_000));
    for md in ["-sha256", "-sha384", "-sha512"] {
        let sig = h.path(&format!("pkcs1{md}.sig"));
        h.openssl(&["dgst", md, "-sign", uri, "-out", &sig, &msg])
            .ok();
        h.openssl_default(&["dgst", md, "-verify", &public, "-signature", &sig, &msg])
            .ok();
    }
    assert_eq!(h.count("sign"), 3);
}

#[test]
fn dgst_sign_pss_with_default_salt_and_with_saltlen_digest_verifies() {
    let h = Harness::start(&["vault:myvault:rsa1=rsa:2048"]);
    let uri = "akv:vault:myvault:rsa1";
    let public = h.export_public(uri, "rsa1.pub");
    let msg = h.write("msg.txt", b"a message signed with RSA-PSS\n");
    for (md, hlen) in [("-sha256", "32"), ("-sha384", "48"), ("-sha512", "64")] {
        for salt_opt in [None, Some("rsa_pss_saltlen:digest")] {
            let sig = h.path("pss.sig");
            let mut args = vec![
                "dgst",
                md,
                "-sign",
                uri,
                "-sigopt",
                "rsa_padding_mode:pss",
                "-out",
                &sig,
            ];
            if let Some(s) = salt_opt {
                args.extend(["-sigopt", s]);
            }
            args.push(&msg);
            h.openssl(&args).ok();
            let strict_salt = format!("rsa_pss_saltlen:{hlen}");
            h.openssl_default(&[
                "dgst",
                md,
                "-verify",
                &public,
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                &strict_salt,
                "-signature",
                &sig,
                &msg,
            ])
            .ok();
        }
    }
    assert_eq!(h.count("sign"), 6);
}

#[test]
fn dgst_sign_ecdsa_verifies_on_each_curve() {
    let h = Harness::start(&[
        "managedHsm:myhsm:p256=ec:P-256",
        "vault:myvault:p384=ec:P-384",
        "vault:myvault:p521=ec:P-521",
    ]);
    let msg = h.write("msg.txt", &random_bytes(4096));
    for (uri, md) in [
        ("akv:managedHsm:myhsm:p256", "-sha256"),
        ("akv:vault:myvault:p384", "-sha384"),
        ("akv:vault:myvault:p521", "-sha512"),
    ] {
        let public = h.export_public(uri, "pub.pem");
        let sig = h.path("ec.sig");
        h.openssl(&["dgst", md, "-sign", uri, "-out", &sig, &msg])
            .ok();
        h.openssl_default(&["dgst", md, "-verify", &public, "-signature", &sig, &msg])
            .ok();
        // and through the provider (local verify)
        h.openssl(&["dgst", md, "-verify", &public, "-signature", &sig, &msg])
            .ok();
    }
    assert_eq!(h.count("sign"), 3);
    assert_eq!(h.count("verify"), 0);
}

/// DESIGN §6.4: on OpenSSL 3.0 `EVP_DigestSignFinal` finalises a duplicate of the running
/// operation (`dupctx`, which must copy the running hash). `dgst` and `pkeyutl -rawin`
/// reading stdin stream the data through `EVP_DigestSignUpdate` and end with that final.
#[test]
fn streamed_signing_from_stdin_with_dgst_and_pkeyutl_rawin_verifies() {
    let h = Harness::start(&[
        "vault:myvault:rsa1=rsa:2048",
        "managedHsm:myhsm:p384=ec:P-384",
    ]);
    let rsa = "akv:vault:myvault:rsa1";
    let ec = "akv:managedHsm:myhsm:p384";
    let rsa_pub = h.export_public(rsa, "rsa.pub");
    let ec_pub = h.export_public(ec, "ec.pub");
    let msg = random_bytes(200_000);
    let msg_file = h.write("msg", &msg);
    let sig = h.path("sig");
    let pss = ["-sigopt", "rsa_padding_mode:pss"];

    for (uri, public, md, opts) in [
        (rsa, &rsa_pub, "-sha256", &[][..]),
        (rsa, &rsa_pub, "-sha512", &pss[..]),
        (ec, &ec_pub, "-sha384", &[][..]),
    ] {
        let mut args = vec!["dgst", md, "-sign", uri, "-out", &sig];
        args.extend_from_slice(opts);
        h.openssl_stdin(&args, &msg).ok();
        let mut verify = vec!["dgst", md, "-verify", public, "-signature", &sig];
        verify.extend_from_slice(opts);
        verify.push(&msg_file);
        h.openssl_default(&verify).ok();
    }
    for (uri, public, md) in [(rsa, &rsa_pub, "sha256"), (ec, &ec_pub, "sha384")] {
        h.openssl_stdin(
            &[
                "pkeyutl", "-sign", "-rawin", "-digest", md, "-inkey", uri, "-out", &sig,
            ],
            &msg,
        )
        .ok();
        h.openssl_default(&[
            "pkeyutl", "-verify", "-rawin", "-digest", md, "-pubin", "-inkey", public, "-in",
            &msg_file, "-sigfile", &sig,
        ])
        .ok();
    }
    assert_eq!(h.count("sign"), 5);
}
