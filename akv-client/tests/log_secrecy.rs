//! No secret or token reaches a `trace` log line or `Debug` output. Its own test binary:
//! tracing's per-callsite interest cache is process-wide, so a test thread running beside a
//! scoped subscriber could leave the `trace` callsites disabled for it.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use serde_json::json;

/// Collects everything a `tracing` subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn no_secret_or_token_appears_in_trace_logs() {
    let emu = start();
    let static_token = emu.issue_token(VAULT_AUDIENCE);
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let mut tokens = vec![static_token.clone()];
    tracing::subscriber::with_default(subscriber, || {
        let with_static = client(&emu, &[("AKV_ACCESS_TOKEN", &static_token)]);
        sign(&with_static).unwrap();
        let with_secret = client(
            &emu,
            &[
                ("AZURE_TENANT_ID", "t1"),
                ("AZURE_CLIENT_ID", "app"),
                ("AZURE_CLIENT_SECRET", "client-secret-must-not-leak"),
            ],
        );
        sign(&with_secret).unwrap();
        tokens.push(
            with_secret
                .token_for(VAULT_AUDIENCE)
                .unwrap()
                .expose()
                .to_string(),
        );
        let endpoint = format!("{}/msi/token", emu.imds_url());
        let app_service = client(
            &emu,
            &[
                ("IDENTITY_ENDPOINT", &endpoint),
                ("IDENTITY_HEADER", emu.identity_header()),
            ],
        );
        sign(&app_service).unwrap();
        tokens.push(
            app_service
                .token_for(VAULT_AUDIENCE)
                .unwrap()
                .expose()
                .to_string(),
        );
        let imds = client(&emu, &[]);
        sign(&imds).unwrap();
        tokens.push(imds.token_for(VAULT_AUDIENCE).unwrap().expose().to_string());
        // a 401 retry and a failure path log too
        emu.add_faults(&json!([{"op": "sign", "status": 401, "count": 1}]))
            .unwrap();
        sign(&imds).unwrap();
        tokens.push(imds.token_for(VAULT_AUDIENCE).unwrap().expose().to_string());
        let debug = format!("{imds:?} {with_secret:?} {app_service:?}");
        for secret in tokens
            .iter()
            .map(String::as_str)
            .chain(["client-secret-must-not-leak"])
        {
            assert!(!debug.contains(secret), "Debug output leaks a secret");
        }
    });
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    // The logs are real: requests were traced at trace level.
    assert!(logs.contains("TRACE"), "{logs}");
    assert!(logs.contains("/sign?api-version="), "{logs}");
    assert!(logs.contains("oauth2/v2.0/token"), "{logs}");
    for secret in tokens
        .iter()
        .map(String::as_str)
        .chain(["client-secret-must-not-leak", emu.identity_header()])
    {
        assert!(!logs.contains(secret), "a secret appears in the trace logs");
    }
    // no signature part of any JWT either
    for token in &tokens {
        let signature = token.rsplit('.').next().unwrap();
        assert!(!logs.contains(signature));
    }
    assert!(!logs.contains("Bearer "));
}
