//! The wire format next to captured responses of the real services (azure-sdk-for-js
//! recordings, 2020-2022): the headers each responder sends, the order of JSON keys, list
//! pagination with `maxresults`, `nextLink` and `$skiptoken`.

mod common;

use common::*;
use serde_json::{Value, json};

const V: &str = "?api-version=7.5";

/// Checks that `keys` occur in `body` in this order (first occurrence of each `"key":`).
fn assert_key_order(body: &str, keys: &[&str]) {
    let positions: Vec<usize> = keys
        .iter()
        .map(|k| {
            body.find(&format!("\"{k}\":"))
                .unwrap_or_else(|| panic!("no {k} in {body}"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "expected the order {keys:?} in {body}"
    );
}

#[test]
fn a_vault_answers_with_the_vault_headers() {
    let h = Harness::new();
    h.create("vault:myvault:k=rsa:2048");
    let mut raw = h.raw();
    raw.write(format!("GET /keys/k{V} HTTP/1.1\r\nHost: {VAULT}\r\nAuthorization: Bearer {}\r\nx-ms-client-request-id: 0f6d3a2e-1111-4b5e-9a8b-000000000001\r\n\r\n", h.vault_token).as_bytes());
    let r = raw.read_reply().unwrap();
    assert_eq!(r.status, 200);
    for (name, value) in [
        ("Cache-Control", "no-cache"),
        ("Pragma", "no-cache"),
        ("Expires", "-1"),
        ("Content-Type", "application/json; charset=utf-8"),
        (
            "Strict-Transport-Security",
            "max-age=31536000;includeSubDomains",
        ),
        ("X-Content-Type-Options", "nosniff"),
        (
            "x-ms-client-request-id",
            "0f6d3a2e-1111-4b5e-9a8b-000000000001",
        ),
        (
            "x-ms-keyvault-network-info",
            "conn_type=Ipv4;addr=127.0.0.1;act_addr_fam=InterNetwork;",
        ),
    ] {
        assert_eq!(r.header(name), Some(value), "{name}");
    }
    for name in [
        "x-ms-keyvault-region",
        "x-ms-keyvault-service-version",
        "x-ms-request-id",
    ] {
        assert!(r.header(name).is_some_and(|v| !v.is_empty()), "{name}");
    }
    assert_eq!(r.header("x-ms-request-id").unwrap().len(), 36);
    let date = r.header("date").unwrap();
    assert!(date.ends_with(" GMT") && date.len() == 29, "{date}");
    // The 401 carries them too, and its body says what is missing.
    let r = h.send("GET", VAULT, &format!("/keys/k{V}"), None, None);
    assert_eq!(r.status, 401);
    assert!(r.header("x-ms-keyvault-service-version").is_some());
    assert_eq!(
        r.body,
        r#"{"error":{"code":"Unauthorized","message":"AKV10000: Request is missing a Bearer or PoP token."}}"#
    );
}

#[test]
fn a_managed_hsm_answers_with_its_own_headers() {
    let h = Harness::new();
    h.create("managedHsm:myhsm:k=ec:P-256");
    let mut raw = h.raw();
    raw.write(format!("GET /keys/k HTTP/1.1\r\nHost: {HSM}\r\nAuthorization: Bearer {}\r\nx-ms-client-request-id: abc\r\n\r\n", h.hsm_token).as_bytes());
    let r = raw.read_reply().unwrap();
    assert_eq!(r.status, 200);
    for (name, value) in [
        ("Cache-Control", "no-cache"),
        ("Content-Security-Policy", "default-src 'self'"),
        ("X-Frame-Options", "SAMEORIGIN"),
        ("X-Content-Type-Options", "nosniff"),
        (
            "Strict-Transport-Security",
            "max-age=31536000; includeSubDomains",
        ),
        (
            "x-ms-keyvault-network-info",
            "conn_type=Ipv4;addr=127.0.0.1;act_addr_fam=Ipv4;",
        ),
    ] {
        assert_eq!(r.header(name), Some(value), "{name}");
    }
    let latency: u64 = r.header("x-ms-server-latency").unwrap().parse().unwrap();
    assert!(latency < 10_000);
    for name in [
        "x-ms-keyvault-service-version",
        "x-ms-client-request-id",
        "Pragma",
    ] {
        assert!(r.header(name).is_none(), "a Managed HSM sends no {name}");
    }
    // Its 401 has neither region nor network info, and no body.
    let r = h.send("GET", HSM, "/keys/k", None, None);
    assert_eq!(r.status, 401);
    assert!(r.header("x-ms-keyvault-region").is_none());
    assert!(r.header("x-ms-server-latency").is_some());
    assert_eq!(r.body, "");
}

#[test]
fn entra_admin_and_imds_answers_carry_no_key_vault_headers() {
    let h = Harness::new();
    let form = "grant_type=client_credentials&client_id=app&client_secret=s&scope=https%3A%2F%2Fvault.azure.net%2F.default";
    let mut raw = h.raw();
    raw.write(format!("POST /common/oauth2/v2.0/token HTTP/1.1\r\nHost: login.microsoftonline.com\r\nContent-Length: {}\r\n\r\n{form}", form.len()).as_bytes());
    let r = raw.read_reply().unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store, no-cache"));
    let stats = h.send("GET", "localhost", "/_emulator/stats", None, None);
    let imds = h.imds_get(
        "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net",
        &[("Metadata", "true")],
    );
    for reply in [&r, &stats, &imds] {
        assert!(
            reply
                .headers
                .iter()
                .all(|(n, _)| !n.to_ascii_lowercase().starts_with("x-ms-keyvault")),
            "{:?}",
            reply.headers
        );
    }
}

#[test]
fn json_keys_come_in_the_order_the_service_writes_them() {
    let h = Harness::new();
    h.create("vault:myvault:rsa=rsa:2048");
    h.create("vault:myvault:ec=ec:P-256");
    let r = h.get(VAULT, &format!("/keys/rsa{V}"));
    assert!(
        r.body
            .starts_with(r#"{"key":{"kid":"https://myvault.vault.azure.net/keys/rsa/"#)
    );
    assert_key_order(
        &r.body,
        &[
            "key",
            "kid",
            "kty",
            "key_ops",
            "n",
            "e",
            "attributes",
            "enabled",
            "created",
            "updated",
            "recoveryLevel",
            "recoverableDays",
            "exportable",
        ],
    );
    let r = h.get(VAULT, &format!("/keys/ec{V}"));
    assert_key_order(&r.body, &["key", "kid", "kty", "key_ops", "crv", "x", "y"]);
    let r = h.post(
        VAULT,
        &format!("/keys/ec//sign{V}"),
        &json!({"alg": "ES256", "value": b64u(&[1u8; 32])}),
    );
    assert_key_order(&r.body, &["kid", "value"]);
    let r = h.get(VAULT, &format!("/keys{V}"));
    assert_key_order(&r.body, &["value", "kid", "attributes", "nextLink"]);
    let r = h.call("DELETE", VAULT, &format!("/keys/ec{V}"), None);
    assert_key_order(
        &r.body,
        &[
            "recoveryId",
            "deletedDate",
            "scheduledPurgeDate",
            "key",
            "attributes",
        ],
    );
    let r = h.call(
        "POST",
        VAULT,
        &format!("/keys/rsa//frobnicate{V}"),
        Some(&json!({})),
    );
    assert_key_order(&r.body, &["error", "code", "message"]);
}

/// Follows `nextLink` from `first` and returns every page.
fn pages(h: &Harness, host: &str, first: &str) -> Vec<Value> {
    let mut pages = Vec::new();
    let mut path = first.to_string();
    loop {
        let r = h.get(host, &path);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        let page = r.json();
        let next = page["nextLink"].clone();
        pages.push(page);
        match next.as_str() {
            None => return pages,
            Some(link) => {
                let prefix = format!("https://{host}:443");
                path = link
                    .strip_prefix(&prefix)
                    .unwrap_or_else(|| panic!("{link} is not under {prefix}"))
                    .to_string();
                assert!(path.contains("api-version=7.5&$skiptoken="), "{link}");
            }
        }
        assert!(pages.len() < 100, "nextLink loops");
    }
}

fn names(pages: &[Value]) -> Vec<String> {
    pages
        .iter()
        .flat_map(|p| p["value"].as_array().unwrap().clone())
        .map(|item| {
            let kid = item["kid"].as_str().unwrap();
            kid.split('/').nth(4).unwrap().to_string()
        })
        .collect()
}

#[test]
fn lists_come_in_pages_of_25_or_maxresults_linked_by_next_link() {
    let h = Harness::new();
    let mut expected: Vec<String> = (0..30).map(|i| format!("key-{i:02}")).collect();
    for name in &expected {
        h.create(&format!("vault:myvault:{name}=ec:P-256"));
    }
    expected.sort();
    let all = pages(&h, VAULT, &format!("/keys{V}"));
    let sizes: Vec<usize> = all
        .iter()
        .map(|p| p["value"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [25, 5], "the service pages at 25");
    assert_eq!(names(&all), expected);
    assert!(all[1]["nextLink"].is_null());

    let small = pages(&h, VAULT, &format!("/keys{V}&maxresults=7"));
    let sizes: Vec<usize> = small
        .iter()
        .map(|p| p["value"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [7, 7, 7, 7, 2]);
    assert_eq!(names(&small), expected);
    assert!(
        small[0]["nextLink"]
            .as_str()
            .unwrap()
            .ends_with("&maxresults=7")
    );

    // Versions (oldest first) and deleted keys page the same way.
    for _ in 0..2 {
        h.create("vault:myvault:key-00=ec:P-256");
    }
    let versions = pages(&h, VAULT, &format!("/keys/key-00/versions{V}&maxresults=2"));
    assert_eq!(versions.len(), 2);
    let kids: Vec<&str> = versions
        .iter()
        .flat_map(|p| p["value"].as_array().unwrap())
        .map(|v| v["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids.len(), 3);
    assert_eq!(
        kids.iter().collect::<std::collections::HashSet<_>>().len(),
        3
    );
    for name in ["key-01", "key-02", "key-03"] {
        h.call("DELETE", VAULT, &format!("/keys/{name}{V}"), None);
    }
    let deleted = pages(&h, VAULT, &format!("/deletedkeys{V}&maxresults=1"));
    assert_eq!(names(&deleted), ["key-01", "key-02", "key-03"]);

    for bad in [
        "maxresults=0",
        "maxresults=26",
        "maxresults=x",
        "$skiptoken=!!",
    ] {
        let r = h.get(VAULT, &format!("/keys{V}&{bad}"));
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(r.code(), "BadParameter");
    }
}

#[test]
fn an_aes_encryption_result_names_its_algorithm() {
    let h = Harness::new();
    h.create("managedHsm:myhsm:aes=oct:256");
    let r = h.post(
        HSM,
        "/keys/aes//encrypt",
        &json!({"alg": "A256CBCPAD", "value": b64u(b"plain"), "iv": b64u(&[0u8; 16])}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["alg"], "A256CBCPAD");
    assert_eq!(r.json()["iv"], b64u(&[0u8; 16]));
}
