//! The module itself: what `openssl list` shows, what it exports, and configuration from
//! openssl.cnf alone.

mod common;

use common::{Harness, module_path, random_bytes};

#[test]
fn openssl_list_shows_the_provider_with_name_version_and_status() {
    let h = Harness::start(&[]);
    let out = h
        .openssl_raw(&["list", "-providers", "-provider", "akv"])
        .ok()
        .stdout();
    assert!(out.contains("name: akv"), "{out}");
    assert!(
        out.contains(&format!("version: {}", env!("CARGO_PKG_VERSION"))),
        "{out}"
    );
    assert!(out.contains("status: active"), "{out}");
    let loaders = h
        .openssl_raw(&["list", "-store-loaders", "-provider", "akv"])
        .ok()
        .stdout();
    assert!(
        loaders.contains("akv @ akv") && loaders.contains("managedhsm @ akv"),
        "{loaders}"
    );
    // Loading the module makes no request at all.
    assert!(h.key_requests().is_empty());
    assert_eq!(h.count("token"), 0);
}

#[test]
fn module_exports_only_ossl_provider_init() {
    let out = std::process::Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(module_path())
        .output()
        .expect("run nm");
    assert!(out.status.success());
    let symbols: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2).map(str::to_string))
        .collect();
    assert_eq!(symbols, vec!["OSSL_provider_init".to_string()]);
}

#[test]
fn settings_from_openssl_cnf_alone_reach_the_service() {
    let h = Harness::start(&["managedHsm:myhsm:ec1=ec:P-256"]);
    let settings = h.emulator_settings() + "api_version = 7.4\n";
    let digest = h.write("d", &random_bytes(32));
    h.openssl_with_config(
        &settings,
        &[
            "pkeyutl",
            "-sign",
            "-inkey",
            "akv:managedHsm:myhsm:ec1",
            "-in",
            &digest,
            "-out",
            "sig",
        ],
    )
    .ok();
    let public = h.export_public("akv:managedHsm:myhsm:ec1", "ec1.pub");
    let sig = h.path("sig");
    h.verify_digest(&public, &digest, &sig, &[]).ok();
    assert_eq!(h.count("sign"), 1);
}

#[test]
fn a_bad_setting_in_openssl_cnf_is_reported_on_use_not_at_load() {
    let h = Harness::start(&["vault:myvault:rsa1=rsa:2048"]);
    let settings = h.emulator_settings() + "cloud = mars\n";
    // Loading the provider from openssl.cnf must not break unrelated commands.
    h.openssl_with_config(&settings, &["list", "-providers"])
        .ok();
    h.openssl_with_config(
        &settings,
        &["pkey", "-in", "akv:vault:myvault:rsa1", "-pubout"],
    )
    .fails_with(&["mars"]);
}

/// DESIGN §6.6: nothing the provider asks of libcrypto (hashing, local verify and encrypt)
/// may resolve to akv itself. Here akv is listed first and preferred for every fetch
/// (`default_properties = ?provider=akv`): signing, verifying and encrypting still work, and
/// verify and encrypt stay local.
#[test]
fn akv_preferred_for_every_fetch_still_hashes_verifies_and_encrypts_locally() {
    let h = Harness::start(&["vault:myvault:rsa1=rsa:2048", "vault:myvault:ec1=ec:P-256"]);
    let cnf = format!(
        "openssl_conf = openssl_init\n\n[openssl_init]\nproviders = provider_sect\n\
         alg_section = evp_properties\n\n[evp_properties]\ndefault_properties = ?provider=akv\n\n\
         [provider_sect]\nakv = akv_sect\ndefault = default_sect\n\n\
         [akv_sect]\nmodule = {}\nactivate = 1\n{}\n\
         [default_sect]\nactivate = 1\n",
        module_path().display(),
        h.emulator_settings()
    );
    let cnf = h.write("akv-first.cnf", cnf.as_bytes());
    let msg = h.write("msg", &random_bytes(5000));
    for uri in ["akv:vault:myvault:rsa1", "akv:vault:myvault:ec1"] {
        h.openssl_with_cnf(
            &cnf,
            &["dgst", "-sha256", "-sign", uri, "-out", "sig", &msg],
        )
        .ok();
        h.openssl_with_cnf(
            &cnf,
            &[
                "dgst",
                "-sha256",
                "-prverify",
                uri,
                "-signature",
                "sig",
                &msg,
            ],
        )
        .ok();
    }
    let plain = h.write("plain", b"local encryption");
    let rsa = "akv:vault:myvault:rsa1";
    h.openssl_with_cnf(
        &cnf,
        &[
            "pkeyutl", "-encrypt", "-inkey", rsa, "-in", &plain, "-out", "ct",
        ],
    )
    .ok();
    h.openssl_with_cnf(
        &cnf,
        &[
            "pkeyutl", "-decrypt", "-inkey", rsa, "-in", "ct", "-out", "back",
        ],
    )
    .ok();
    assert_eq!(h.read("back"), b"local encryption");
    assert_eq!(h.count("sign"), 2);
    assert_eq!(h.count("verify"), 0);
    assert_eq!(h.count("encrypt"), 0);
    assert_eq!(h.count("decrypt"), 1);
}

/// Secrets and tokens never reach a log line or an error, at the most verbose level.
#[test]
fn trace_logging_shows_the_requests_but_never_the_client_secret_or_a_token() {
    let h = Harness::start(&["vault:myvault:rsa1=rsa:2048"]);
    let secret = "s3cret-value-that-must-not-leak";
    let secret_file = h.write("client.secret", secret.as_bytes());
    let settings = format!(
        "{}credential = client_secret\ntenant_id = 72f988bf-86f1-41af-91ab-2d7cd011db47\n\
         client_id = 11111111-2222-3333-4444-555555555555\nclient_secret_file = {secret_file}\n\
         log_level = trace\n",
        h.emulator_settings()
    );
    let digest = h.write("d", &random_bytes(32));
    let mut stderr = String::new();
    for uri in ["akv:vault:myvault:rsa1", "akv:vault:myvault:nosuchkey"] {
        let run = h.openssl_with_config(
            &settings,
            &[
                "pkeyutl", "-sign", "-inkey", uri, "-in", &digest, "-out", "sig",
            ],
        );
        stderr += &run.stderr();
    }
    assert_eq!(h.count("token"), 2, "one client-secret token per process");
    assert_eq!(h.count("sign"), 1);
    assert!(
        stderr.contains("myvault.vault.azure.net"),
        "no request was logged:\n{stderr}"
    );
    assert!(stderr.contains("nosuchkey"), "{stderr}");
    assert!(
        !stderr.contains(secret),
        "the client secret leaked:\n{stderr}"
    );
    assert!(!stderr.contains("eyJ"), "a token leaked:\n{stderr}");
}
