//! Token cache, retries and failures against the emulator's counters and faults.

mod common;

use std::sync::{Arc, Barrier};
use std::time::Instant;

use akv_client::{Client, Error};
use common::*;
use serde_json::json;

#[test]
fn one_connection_and_one_token_for_many_sequential_signs() {
    let emu = start();
    let client = client(&emu, &[]);
    for _ in 0..20 {
        sign(&client).unwrap();
    }
    assert_eq!(stat(&emu, "sign"), 20);
    assert_eq!(stat(&emu, "token"), 1);
    assert_eq!(connections(&emu), 1);
}

#[test]
fn token_is_refreshed_ahead_of_expiry_with_a_two_second_ttl() {
    let emu = start_with(akv_emulator::Options {
        token_ttl: 2 * SECOND,
        ..options()
    });
    let client = client(&emu, &[]);
    sign(&client).unwrap();
    assert_eq!(stat(&emu, "token"), 1);
    // Past half the lifetime the token is due: the next call refreshes it first.
    std::thread::sleep(SECOND + SECOND / 5);
    sign(&client).unwrap();
    assert_eq!(stat(&emu, "token"), 2);
    // Well past the first token's expiry, still working, and never a 401 retry: every sign
    // was answered once.
    std::thread::sleep(2 * SECOND + SECOND / 5);
    sign(&client).unwrap();
    assert_eq!(stat(&emu, "token"), 3);
    assert_eq!(stat(&emu, "sign"), 3);
}

#[test]
fn sixteen_threads_share_one_token_request() {
    let emu = start();
    // Each token request takes 300 ms, so all threads arrive while the first is in flight.
    emu.add_faults(&json!([{"op": "token", "delay_ms": 300, "count": 1}]))
        .unwrap();
    let client = Arc::new(client(&emu, &[]));
    let barrier = Arc::new(Barrier::new(16));
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let (client, barrier) = (client.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                sign(&client).unwrap()
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(stat(&emu, "token"), 1);
    assert_eq!(stat(&emu, "sign"), 16);
}

#[test]
fn a_401_from_the_service_gets_a_new_token_and_succeeds() {
    let emu = start();
    let client = client(&emu, &[]);
    sign(&client).unwrap();
    let first = client.token_for(VAULT_AUDIENCE).unwrap();
    emu.add_faults(&json!([{"op": "sign", "status": 401, "count": 1}]))
        .unwrap();
    sign(&client).unwrap();
    assert_eq!(stat(&emu, "token"), 2);
    assert_ne!(client.token_for(VAULT_AUDIENCE).unwrap(), first);
}

#[test]
fn throttling_with_retry_after_waits_as_told() {
    let emu = start();
    let client = client(&emu, &[]);
    sign(&client).unwrap();
    emu.add_faults(&json!([{"op": "sign", "status": 429, "retry_after": 1, "count": 2}]))
        .unwrap();
    let started = Instant::now();
    sign(&client).unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed >= 2 * SECOND, "{elapsed:?}");
    // capped: not the backoff growing without bound
    assert!(elapsed < 8 * SECOND, "{elapsed:?}");
}

#[test]
fn throttling_without_retry_after_backs_off_then_gives_up_after_max_retries() {
    let emu = start();
    let client = client(&emu, &[("AKV_MAX_RETRIES", "2")]);
    sign(&client).unwrap();
    emu.add_faults(&json!([{"op": "sign", "status": 429, "count": 2}]))
        .unwrap();
    let started = Instant::now();
    sign(&client).unwrap();
    // backoff ~0.4 s then ~0.8 s, each ±25 %
    let elapsed = started.elapsed();
    assert!(elapsed >= SECOND * 9 / 10, "{elapsed:?}");

    emu.add_faults(&json!([{"op": "sign", "status": 429, "count": 3}]))
        .unwrap();
    let err = sign(&client).unwrap_err();
    assert_eq!(err.status(), Some(429), "{err}");
    assert!(err.is_transient());
    assert!(err.to_string().contains("Throttled"), "{err}");
}

#[test]
fn service_unavailable_is_retried() {
    let emu = start();
    let client = client(&emu, &[]);
    sign(&client).unwrap();
    let before = stat(&emu, "sign");
    emu.add_faults(&json!([{"op": "sign", "status": 503, "count": 1}]))
        .unwrap();
    sign(&client).unwrap();
    assert_eq!(stat(&emu, "sign") - before, 2);
}

#[test]
fn a_response_slower_than_the_timeout_is_retried_or_reported() {
    let emu = start();
    let client = client(
        &emu,
        &[("AKV_TIMEOUT_MS", "1000"), ("AKV_MAX_RETRIES", "1")],
    );
    sign(&client).unwrap();
    emu.add_faults(&json!([{"op": "sign", "delay_ms": 3000, "count": 1}]))
        .unwrap();
    let started = Instant::now();
    sign(&client).unwrap();
    assert!(started.elapsed() >= SECOND, "{:?}", started.elapsed());

    let no_retry = client_no_retry(&emu);
    sign(&no_retry).unwrap();
    emu.add_faults(&json!([{"op": "sign", "delay_ms": 3000, "count": 1}]))
        .unwrap();
    let started = Instant::now();
    let err = sign(&no_retry).unwrap_err();
    // gave up at the 1 s timeout, not when the 3 s answer came
    assert!(
        started.elapsed() < 2 * SECOND + SECOND / 2,
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(err.to_string().contains("timed out after 1000 ms"), "{err}");
    assert!(
        err.to_string().contains("testvault.vault.azure.net"),
        "{err}"
    );
}

fn client_no_retry(emu: &akv_emulator::Emulator) -> Client {
    client(emu, &[("AKV_TIMEOUT_MS", "1000"), ("AKV_MAX_RETRIES", "0")])
}

#[test]
fn a_dropped_connection_is_retried_on_a_new_one() {
    let emu = start();
    let client = client(&emu, &[]);
    sign(&client).unwrap();
    assert_eq!(connections(&emu), 1);
    emu.add_faults(&json!([{"op": "sign", "drop": true, "count": 1}]))
        .unwrap();
    sign(&client).unwrap();
    assert_eq!(connections(&emu), 2);
}

#[test]
fn connection_refused_is_a_transport_error_naming_the_host() {
    let emu = start();
    let port = closed_port();
    let token = emu.issue_token(VAULT_AUDIENCE);
    let started = Instant::now();
    let client = client(
        &emu,
        &[
            ("AKV_CONNECT_TO", &format!("127.0.0.1:{port}")),
            ("AKV_ACCESS_TOKEN", &token),
            ("AKV_MAX_RETRIES", "1"),
        ],
    );
    let err = sign(&client).unwrap_err();
    assert!(started.elapsed() < 3 * SECOND);
    match &err {
        Error::Transport { host, message } => {
            assert_eq!(host, "testvault.vault.azure.net");
            assert!(message.contains("connection refused"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_untrusted_certificate_is_refused_without_the_emulator_ca() {
    let emu = start();
    let token = emu.issue_token(VAULT_AUDIENCE);
    let mut env = env_for(&emu, &[("AKV_ACCESS_TOKEN", &token)]);
    env.remove("AKV_CA_FILE");
    let client = Client::new(config_from(&env)).unwrap();
    let err = sign(&client).unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_eq!(stat(&emu, "sign"), 0);
}
