//! `AKV_LOG` / `AKV_LOG_FILE`: `logging::init` installs the process-wide writer (its own test
//! binary, as it is once per process).

mod common;

use akv_client::SignatureAlgorithm;
use common::*;

#[test]
fn trace_log_file_records_requests_without_secrets() {
    let emu = start();
    let dir = temp_dir("logging");
    let log = dir.join("akv.log");
    let token = emu.issue_token(VAULT_AUDIENCE);
    let env = env_for(
        &emu,
        &[
            ("AKV_LOG", "trace"),
            ("AKV_LOG_FILE", log.to_str().unwrap()),
            ("AKV_ACCESS_TOKEN", &token),
        ],
    );
    let config = config_from(&env);
    akv_client::logging::init(&config);
    let client = akv_client::Client::new(config).unwrap();
    let alg = SignatureAlgorithm::Es256;
    client
        .sign(&key_id("akv:vault:testvault:ec256"), alg, &sha(alg, b"log"))
        .unwrap();
    let err = client
        .get_key(&key_id("akv:vault:testvault:nosuchkey"))
        .unwrap_err();
    assert_eq!(err.status(), Some(404));

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("TRACE"), "{text}");
    assert!(text.contains("/keys/ec256//sign?api-version=7.5"), "{text}");
    assert!(text.contains("status=404"), "{text}");
    assert!(!text.contains(&token), "the token is in the log file");
    assert!(!text.contains(token.rsplit('.').next().unwrap()));
    std::fs::remove_dir_all(&dir).unwrap();
}
