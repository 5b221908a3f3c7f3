//! Every key URI form of DESIGN §2 loads the same key, and the request accounting the
//! emulator sees: one GET per key load, one call per signature or decryption, none for
//! verify, encrypt or `-pubout`.

mod common;

use common::{Harness, random_bytes};

fn version_of(kid: &str) -> String {
    kid.rsplit('/').next().unwrap().to_string()
}

fn pubout(h: &Harness, uri: &str) -> String {
    let out = h.path("pub.pem");
    h.openssl(&["pkey", "-in", uri, "-pubout", "-out", &out])
        .ok();
    std::fs::read_to_string(out).unwrap()
}

#[test]
fn every_uri_form_loads_the_same_vault_key_with_one_get_each() {
    let h = Harness::start(&[]);
    let spec = akv_emulator::KeySpec::parse("vault:myvault:rsa1=rsa:2048").unwrap();
    let kid = h.emulator.create_key(&spec).unwrap();
    let v = version_of(&kid);
    let forms = [
        "akv:vault:myvault:rsa1".to_string(),
        format!("akv:vault:myvault:rsa1:{v}"),
        "akv:Vault:myvault:rsa1".to_string(),
        "akv://vault:myvault:rsa1".to_string(),
        format!("akv:https://myvault.vault.azure.net/keys/rsa1/{v}"),
        "akv:https://myvault.vault.azure.net/keys/rsa1".to_string(),
        "akv:type=vault,vault=myvault,name=rsa1".to_string(),
        format!("akv:type=vault,vault=myvault,name=rsa1,version={v}"),
    ];
    let expected = pubout(&h, &forms[0]);
    assert!(expected.contains("BEGIN PUBLIC KEY"));
    for form in &forms[1..] {
        assert_eq!(pubout(&h, form), expected, "{form} loads another key");
    }
    assert_eq!(
        h.key_requests(),
        vec![("get_key".to_string(), forms.len() as u64)],
        "-pubout costs exactly one GET per load"
    );
}

#[test]
fn every_managed_hsm_uri_form_loads_the_same_key() {
    let h = Harness::start(&[]);
    let spec = akv_emulator::KeySpec::parse("managedHsm:myhsm:hk=ec:P-256").unwrap();
    let kid = h.emulator.create_key(&spec).unwrap();
    let v = version_of(&kid);
    let forms = [
        "akv:managedHsm:myhsm:hk".to_string(),
        format!("akv:managedhsm:myhsm:hk:{v}"),
        "managedhsm:myhsm:hk".to_string(),
        format!("managedhsm:myhsm:hk?version={v}"),
        format!("akv:https://myhsm.managedhsm.azure.net/keys/hk/{v}"),
        "akv:type=managedHsm,vault=myhsm,name=hk".to_string(),
    ];
    let expected = pubout(&h, &forms[0]);
    for form in &forms[1..] {
        assert_eq!(pubout(&h, form), expected, "{form} loads another key");
    }
    assert_eq!(h.count("get_key"), forms.len() as u64);
}

#[test]
fn versioned_uri_uses_the_old_version_after_a_rotation() {
    let h = Harness::start(&[]);
    let spec = akv_emulator::KeySpec::parse("vault:myvault:rot=rsa:2048").unwrap();
    let old = version_of(&h.emulator.create_key(&spec).unwrap());
    let old_pub = pubout(&h, "akv:vault:myvault:rot");
    // A new version becomes the latest.
    h.emulator.create_key(&spec).unwrap();
    let new_pub = pubout(&h, "akv:vault:myvault:rot");
    assert_ne!(
        old_pub, new_pub,
        "the versionless URI follows the latest version"
    );
    assert_eq!(pubout(&h, &format!("akv:vault:myvault:rot:{old}")), old_pub);
    // Signing with the pinned old version verifies with the old public key.
    let digest = h.write("d", &random_bytes(32));
    let sig = h.path("sig");
    let uri = format!("akv:vault:myvault:rot:{old}");
    h.sign_digest(&uri, &digest, &sig, &[]).ok();
    let old_pub_file = h.write("old.pub", old_pub.as_bytes());
    h.verify_digest(&old_pub_file, &digest, &sig, &["-pkeyopt", "digest:sha256"])
        .ok();
}

#[test]
fn request_accounting_one_get_per_load_one_call_per_private_operation() {
    let h = Harness::start(&["vault:myvault:rsa1=rsa:2048"]);
    let uri = "akv:vault:myvault:rsa1";
    let get = |n: u64| ("get_key".to_string(), n);

    // pubout: one GET, nothing else.
    let public = h.export_public(uri, "pub.pem");
    assert_eq!(h.key_requests(), vec![get(1)]);

    // sign: one GET + one sign.
    let digest = h.write("d", &random_bytes(32));
    let sig = h.path("sig");
    h.sign_digest(uri, &digest, &sig, &[]).ok();
    assert_eq!(h.key_requests(), vec![get(2), ("sign".to_string(), 1)]);

    // verify through akv: one GET, no verify call.
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
        "digest:sha256",
    ])
    .ok();
    assert_eq!(h.key_requests(), vec![get(3), ("sign".to_string(), 1)]);

    // a streamed digest-sign (dgst: update + final through dupctx): one GET + one sign.
    let msg = h.write("msg", &random_bytes(100_000));
    h.openssl(&["dgst", "-sha256", "-sign", uri, "-out", &sig, &msg])
        .ok();
    h.openssl_default(&[
        "dgst",
        "-sha256",
        "-verify",
        &public,
        "-signature",
        &sig,
        &msg,
    ])
    .ok();
    assert_eq!(h.key_requests(), vec![get(4), ("sign".to_string(), 2)]);

    // encrypt through akv: one GET, no encrypt call; decrypt: one GET + one decrypt.
    let plain = h.write("plain", b"secret");
    let ct = h.path("ct");
    h.openssl(&[
        "pkeyutl", "-encrypt", "-inkey", uri, "-in", &plain, "-out", &ct,
    ])
    .ok();
    assert_eq!(h.key_requests(), vec![get(5), ("sign".to_string(), 2)]);
    h.openssl(&[
        "pkeyutl", "-decrypt", "-inkey", uri, "-in", &ct, "-out", "back",
    ])
    .ok();
    assert_eq!(h.read("back"), b"secret");
    assert_eq!(
        h.key_requests(),
        vec![("decrypt".to_string(), 1), get(6), ("sign".to_string(), 2)]
    );
}
