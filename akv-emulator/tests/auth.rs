//! The 401 challenge, audience binding and token expiry (`--token-ttl`).

mod common;

use std::time::Duration;

use akv_emulator::{Options, TENANT_ID};
use common::*;
use serde_json::json;

#[test]
fn unauthenticated_requests_get_the_bearer_challenge_for_their_audience() {
    let h = Harness::new();
    h.create("vault:myvault:k=rsa:2048");
    let r = h.send("GET", VAULT, "/keys/k/?api-version=7.5", None, None);
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate").unwrap(),
        format!(
            "Bearer authorization=\"https://login.microsoftonline.com/{TENANT_ID}\", resource=\"https://vault.azure.net\""
        )
    );
    assert_eq!(r.code(), "Unauthorized");
    assert_eq!(
        r.message(),
        "AKV10000: Request is missing a Bearer or PoP token."
    );

    let r = h.send(
        "GET",
        "myhsm.managedhsm.usgovcloudapi.net",
        "/keys/k",
        None,
        None,
    );
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate").unwrap(),
        format!(
            "Bearer authorization=\"https://login.microsoftonline.us/{TENANT_ID}\", resource=\"https://managedhsm.usgovcloudapi.net\""
        )
    );
    // A Managed HSM answers a request without a token with an empty body (as captured).
    assert_eq!(r.body, "");
    assert_eq!(r.header("content-length"), Some("0"));
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let r = h.send("GET", "v1x.vault.azure.cn", "/keys/k", None, None);
    assert!(
        r.header("www-authenticate")
            .unwrap()
            .contains("resource=\"https://vault.azure.cn\"")
    );
    // Not a bearer token, a garbled token, a token signed by another emulator.
    for auth in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer a.b.c"] {
        let reply = h.send_raw_auth(VAULT, auth);
        assert_eq!(reply.status, 401, "{auth}");
        assert!(reply.header("www-authenticate").is_some());
    }
    let other = Harness::new();
    let r = h.send(
        "GET",
        VAULT,
        "/keys/k?api-version=7.5",
        Some(&other.vault_token),
        None,
    );
    assert_eq!(r.status, 401);
}

trait RawAuth {
    fn send_raw_auth(&self, host: &str, authorization: &str) -> Reply;
}

impl RawAuth for Harness {
    fn send_raw_auth(&self, host: &str, authorization: &str) -> Reply {
        let mut raw = self.raw();
        raw.write(format!("GET /keys/k?api-version=7.5 HTTP/1.1\r\nHost: {host}\r\nAuthorization: {authorization}\r\n\r\n").as_bytes());
        raw.read_reply().unwrap()
    }
}

#[test]
fn a_token_for_the_wrong_audience_is_refused_naming_the_expected_one() {
    let h = Harness::new();
    h.create("vault:myvault:k=ec:P-256");
    h.create("managedHsm:myhsm:k=ec:P-256");
    let r = h.send(
        "GET",
        VAULT,
        "/keys/k?api-version=7.5",
        Some(&h.hsm_token),
        None,
    );
    assert_eq!(r.status, 401);
    assert!(
        r.message().contains("https://vault.azure.net"),
        "{}",
        r.body
    );
    assert!(
        r.header("www-authenticate")
            .unwrap()
            .contains("resource=\"https://vault.azure.net\"")
    );
    let r = h.send("GET", HSM, "/keys/k", Some(&h.vault_token), None);
    assert_eq!(r.status, 401);
    // As captured (azure-sdk-for-cpp#2750), with an activity id of its own.
    let message = r.message();
    assert!(
        message.starts_with(
            "Found token with aud=https://vault.azure.net, but expected aud=https://managedhsm.azure.net (Activity ID: "
        ),
        "{message}"
    );
    // A public-cloud vault token does not open a China vault.
    let r = h.send(
        "GET",
        "myvault.vault.azure.cn",
        "/keys/k?api-version=7.5",
        Some(&h.vault_token),
        None,
    );
    assert_eq!(r.status, 401);
}

#[test]
fn auth_is_checked_before_the_body_is_read() {
    let h = Harness::new();
    h.create("vault:myvault:k=rsa:2048");
    let mut raw = h.raw();
    // Announce a body, send none: the challenge must come anyway, at once.
    raw.write(b"POST /keys/k//sign?api-version=7.5 HTTP/1.1\r\nHost: myvault.vault.azure.net\r\nContent-Type: application/json\r\nContent-Length: 40\r\nExpect: 100-continue\r\n\r\n");
    let r = raw
        .read_reply()
        .expect("a 401 without waiting for the body");
    assert_eq!(r.status, 401);
    assert!(r.header("www-authenticate").is_some());
    // A 401 counts for no operation.
    assert_eq!(h.count("sign"), 0);
    // An oversized body is refused with the challenge too, not a 413, when no token is given.
    let mut raw = h.raw();
    raw.write(b"POST /keys/k//sign?api-version=7.5 HTTP/1.1\r\nHost: myvault.vault.azure.net\r\nContent-Length: 5000000\r\n\r\n");
    assert_eq!(raw.read_reply().unwrap().status, 401);
}

#[test]
fn the_sdk_flow_empty_unauthenticated_request_then_the_real_one_keeps_the_connection() {
    let h = Harness::new();
    h.create("vault:myvault:k=rsa:2048");
    let mut raw = h.raw();
    let body = json!({"alg": "RS256", "value": b64u(&[0u8; 32])}).to_string();
    raw.write(format!("POST /keys/k//sign?api-version=7.5 HTTP/1.1\r\nHost: {VAULT}\r\nContent-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
    assert_eq!(raw.read_reply().unwrap().status, 401);
    raw.write(format!("POST /keys/k//sign?api-version=7.5 HTTP/1.1\r\nHost: {VAULT}\r\nAuthorization: Bearer {}\r\nContent-Length: {}\r\n\r\n{body}", h.vault_token, body.len()).as_bytes());
    let r = raw.read_reply().unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(h.stats()["connections"], 1);
}

#[test]
fn tokens_expire_after_token_ttl() {
    let h = Harness::with(Options {
        token_ttl: Duration::from_secs(2),
        ..Options::default()
    });
    h.create("vault:myvault:k=ec:P-256");
    let reply = h.imds_get(
        "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net",
        &[("Metadata", "true")],
    );
    let body = reply.json();
    assert_eq!(body["expires_in"], "2");
    let token = body["access_token"].as_str().unwrap().to_string();
    let expires_on: u64 = body["expires_on"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        h.send("GET", VAULT, "/keys/k?api-version=7.5", Some(&token), None)
            .status,
        200
    );
    // Wait out the token's lifetime (this waits for a clock, not for a server).
    loop {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        if now >= expires_on {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let r = h.send("GET", VAULT, "/keys/k?api-version=7.5", Some(&token), None);
    assert_eq!(r.status, 401);
    assert!(r.message().contains("TokenExpired"), "{}", r.body);
    assert!(r.header("www-authenticate").is_some());
}

#[test]
fn a_zero_ttl_token_is_already_expired() {
    let h = Harness::with(Options {
        token_ttl: Duration::ZERO,
        ..Options::default()
    });
    let r = h.send(
        "GET",
        VAULT,
        "/keys/k?api-version=7.5",
        Some(&h.vault_token),
        None,
    );
    assert_eq!(r.status, 401);
}

#[test]
fn tokens_are_jwt_shaped_with_the_audience_claim() {
    let h = Harness::new();
    let token = h.emu.issue_token("https://managedhsm.azure.net/.default");
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: serde_json::Value = serde_json::from_slice(&unb64u(parts[0])).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(&unb64u(parts[1])).unwrap();
    assert_eq!(header["typ"], "JWT");
    assert_eq!(claims["aud"], "https://managedhsm.azure.net");
    assert_eq!(claims["tid"], TENANT_ID);
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());
    // Tampering with the claims breaks the signature.
    let forged_claims = b64u(
        serde_json::to_string(&json!({"aud": "https://vault.azure.net", "exp": 9999999999i64}))
            .unwrap()
            .as_bytes(),
    );
    let forged = format!("{}.{}.{}", parts[0], forged_claims, parts[2]);
    assert_eq!(
        h.send("GET", VAULT, "/keys/k?api-version=7.5", Some(&forged), None)
            .status,
        401
    );
}
