//! The token endpoints: IMDS, App Service, Azure Arc on the plain-HTTP listener, Entra on the
//! HTTPS port; every token they issue opens the vault it was asked for.

mod common;

use common::*;

const IMDS_PATH: &str = "/metadata/identity/oauth2/token";

#[test]
fn imds_issues_string_valued_tokens_that_open_the_vault() {
    let h = Harness::new();
    h.create("vault:myvault:k=ec:P-256");
    let r = h.imds_get(
        &format!(
            "{IMDS_PATH}?api-version=2018-02-01&resource=https://vault.azure.net&client_id=1234"
        ),
        &[("Metadata", "true")],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let b = r.json();
    for field in [
        "access_token",
        "expires_in",
        "expires_on",
        "not_before",
        "resource",
        "token_type",
        "client_id",
    ] {
        assert!(
            b[field].is_string(),
            "{field} is a string as IMDS sends it: {b}"
        );
    }
    assert_eq!(b["expires_in"], "3600");
    assert_eq!(b["resource"], "https://vault.azure.net");
    assert_eq!(b["client_id"], "1234");
    assert_eq!(b["token_type"], "Bearer");
    let token = b["access_token"].as_str().unwrap();
    assert_eq!(
        h.send("GET", VAULT, "/keys/k?api-version=7.5", Some(token), None)
            .status,
        200
    );
    assert_eq!(h.count("token"), 1);
}

#[test]
fn imds_requires_the_metadata_header_resource_and_one_identity() {
    let h = Harness::new();
    let q = format!("{IMDS_PATH}?api-version=2018-02-01&resource=https://vault.azure.net");
    let r = h.imds_get(&q, &[]);
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "invalid_request");
    assert!(
        r.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("metadata")
    );
    let r = h.imds_get(&q, &[("Metadata", "false")]);
    assert_eq!(r.status, 400);
    let r = h.imds_get(
        &format!("{IMDS_PATH}?api-version=2018-02-01"),
        &[("Metadata", "true")],
    );
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("audience")
    );
    let r = h.imds_get(
        &format!("{q}&client_id=a&object_id=b"),
        &[("Metadata", "true")],
    );
    assert_eq!(r.status, 400);
    let r = h.imds_get(&format!("{IMDS_PATH}?resource=x"), &[("Metadata", "true")]);
    assert_eq!(r.status, 400);
    let r = h.imds_get(
        "/metadata/instance?api-version=2021-02-01",
        &[("Metadata", "true")],
    );
    assert_eq!(r.status, 404);
}

#[test]
fn app_service_checks_the_identity_header_and_has_no_expires_in() {
    let h = Harness::new();
    h.create("managedHsm:myhsm:k=rsa:2048");
    let q = "/msi/token?api-version=2019-08-01&resource=https://managedhsm.azure.net";
    let r = h.imds_get(q, &[("X-IDENTITY-HEADER", "wrong")]);
    assert_eq!(r.status, 401);
    let r = h.imds_get(q, &[]);
    assert_eq!(r.status, 401);
    assert_eq!(h.count("token"), 0, "a 401 counts for no operation");
    let header = h.emu.identity_header().to_string();
    assert!(header.len() >= 16);
    let r = h.imds_get(q, &[("X-IDENTITY-HEADER", &header)]);
    assert_eq!(r.status, 200, "{}", r.body);
    let b = r.json();
    assert!(b.get("expires_in").is_none());
    assert!(b["expires_on"].is_string());
    assert_eq!(b["resource"], "https://managedhsm.azure.net");
    let token = b["access_token"].as_str().unwrap();
    assert_eq!(h.send("GET", HSM, "/keys/k", Some(token), None).status, 200);
    let r = h.imds_get(
        "/msi/token?api-version=2017-09-01&resource=x",
        &[("X-IDENTITY-HEADER", &header)],
    );
    assert_eq!(r.status, 400);
    assert_eq!(h.count("token"), 2);
}

#[test]
fn arc_challenge_files_are_bounded_and_removed_once_used() {
    let h = Harness::new();
    let q = format!("{IMDS_PATH}?api-version=2020-06-01&resource=https://vault.azure.net");
    let challenge_path = |r: &Reply| {
        std::path::PathBuf::from(
            r.header("www-authenticate")
                .unwrap()
                .strip_prefix("Basic realm=")
                .unwrap(),
        )
    };
    let files = || std::fs::read_dir(h.emu.arc_token_dir()).unwrap().count();
    let first = challenge_path(&h.imds_get(&q, &[("Metadata", "true")]));
    for _ in 0..200 {
        assert_eq!(h.imds_get(&q, &[("Metadata", "true")]).status, 401);
    }
    // Clients that never answer their challenge cannot fill the disk: the oldest expire.
    assert!(files() <= 64, "{} challenge files", files());
    assert!(!first.exists(), "the oldest challenge is gone");
    // An answered challenge removes its file.
    let path = challenge_path(&h.imds_get(&q, &[("Metadata", "true")]));
    let secret = std::fs::read_to_string(&path).unwrap();
    let auth = format!("Basic {secret}");
    let r = h.imds_get(&q, &[("Metadata", "true"), ("Authorization", &auth)]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!path.exists(), "a used challenge file is removed");
}

#[test]
fn arc_challenge_file_flow_issues_a_token_once_per_secret() {
    let h = Harness::new();
    h.create("vault:myvault:k=rsa:2048");
    let q = format!("{IMDS_PATH}?api-version=2020-06-01&resource=https://vault.azure.net");
    let r = h.imds_get(&q, &[("Metadata", "true")]);
    assert_eq!(r.status, 401);
    let challenge = r.header("www-authenticate").unwrap().to_string();
    let path = challenge
        .strip_prefix("Basic realm=")
        .expect("Basic realm=<path>");
    let path = std::path::Path::new(path);
    assert_eq!(path.parent().unwrap(), h.emu.arc_token_dir());
    assert_eq!(path.extension().unwrap(), "key");
    let secret = std::fs::read_to_string(path).unwrap();
    assert!(secret.len() <= 4096 && !secret.is_empty());
    let r = h.imds_get(
        &q,
        &[
            ("Metadata", "true"),
            ("Authorization", &format!("Basic {secret}")),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let token = r.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        h.send("GET", VAULT, "/keys/k?api-version=7.5", Some(&token), None)
            .status,
        200
    );
    // The secret is spent; a wrong one gets a fresh challenge.
    let r = h.imds_get(
        &q,
        &[
            ("Metadata", "true"),
            ("Authorization", &format!("Basic {secret}")),
        ],
    );
    assert_eq!(r.status, 401);
    let r = h.imds_get(&q, &[("Metadata", "true"), ("Authorization", "Basic nope")]);
    assert_eq!(r.status, 401);
    // 2019-11-01 is Arc too, and user-assigned ids are echoed.
    let q = format!(
        "{IMDS_PATH}?api-version=2019-11-01&resource=https://vault.azure.net&client_id=abc"
    );
    let r = h.imds_get(&q, &[("Metadata", "true")]);
    let path = r
        .header("www-authenticate")
        .unwrap()
        .strip_prefix("Basic realm=")
        .unwrap()
        .to_string();
    let secret = std::fs::read_to_string(path).unwrap();
    let r = h.imds_get(
        &q,
        &[
            ("Metadata", "true"),
            ("Authorization", &format!("Basic {secret}")),
        ],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["client_id"], "abc");
    assert_eq!(
        h.count("token"),
        2,
        "challenges are 401s and count for nothing"
    );
}

fn entra(h: &Harness, host: &str, tenant: &str, form: &str) -> Reply {
    let request = ureq::http::Request::builder()
        .method("POST")
        .uri(h.url(&format!("/{tenant}/oauth2/v2.0/token")))
        .header("Host", host)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form.to_string())
        .unwrap();
    let mut response = h.agent.run(request).unwrap();
    Reply {
        status: response.status().as_u16(),
        headers: Vec::new(),
        body: response.body_mut().read_to_string().unwrap(),
    }
}

#[test]
fn entra_client_secret_and_federated_assertion_grants() {
    let h = Harness::new();
    h.create("vault:myvault:k=rsa:2048");
    let scope = "scope=https%3A%2F%2Fvault.azure.net%2F.default";
    let r = entra(
        &h,
        "login.microsoftonline.com",
        "some-tenant",
        &format!("grant_type=client_credentials&client_id=app1&client_secret=s3cret&{scope}"),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let b = r.json();
    assert!(b["expires_in"].is_i64(), "Entra sends integers");
    assert_eq!(b["token_type"], "Bearer");
    let token = b["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        h.send("GET", VAULT, "/keys/k?api-version=7.5", Some(&token), None)
            .status,
        200
    );
    let claims: serde_json::Value =
        serde_json::from_slice(&unb64u(token.split('.').nth(1).unwrap())).unwrap();
    assert_eq!(claims["tid"], "some-tenant");
    assert_eq!(claims["appid"], "app1");

    let header = b64u(br#"{"alg":"RS256","typ":"JWT"}"#);
    let payload = b64u(br#"{"iss":"https://oidc.example","sub":"system:serviceaccount:ns:sa"}"#);
    let assertion = format!("{header}.{payload}.c2lnbmF0dXJl");
    let form = format!(
        "grant_type=client_credentials&client_id=app2&{scope}&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={assertion}"
    );
    let r = entra(&h, "login.chinacloudapi.cn", "t2", &form);
    assert_eq!(r.status, 200, "{}", r.body);
    let r = entra(
        &h,
        "login.microsoftonline.us:443",
        "t2",
        &form.replace(&assertion, "not-a-jwt"),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "invalid_client");
    assert_eq!(h.count("token"), 3);
}

#[test]
fn entra_errors_look_like_entra_errors() {
    let h = Harness::new();
    let scope = "scope=https%3A%2F%2Fvault.azure.net%2F.default";
    let cases = [
        (format!("grant_type=client_credentials&client_id=app&{scope}"), 401, "invalid_client"),
        (format!("grant_type=client_credentials&client_id=app&client_secret=&{scope}"), 401, "invalid_client"),
        (format!("grant_type=client_credentials&client_secret=x&{scope}"), 400, "invalid_request"),
        ("grant_type=client_credentials&client_id=app&client_secret=x".to_string(), 400, "invalid_request"),
        ("grant_type=client_credentials&client_id=app&client_secret=x&scope=https%3A%2F%2Fvault.azure.net".to_string(), 400, "invalid_scope"),
        (format!("grant_type=password&client_id=app&client_secret=x&{scope}"), 400, "unsupported_grant_type"),
        ("%zz".to_string(), 400, "invalid_request"),
    ];
    for (form, status, error) in cases {
        let r = entra(&h, "login.microsoftonline.com", "tenant", &form);
        assert_eq!(r.status, status, "{form}: {}", r.body);
        let b = r.json();
        assert_eq!(b["error"], error, "{form}");
        assert!(
            b["error_description"]
                .as_str()
                .unwrap()
                .starts_with("AADSTS"),
            "{form}"
        );
        assert!(b["error_codes"].is_array());
    }
    // Only the token endpoint lives on the authority hosts.
    let r = h.send(
        "GET",
        "login.microsoftonline.com",
        "/tenant/oauth2/v2.0/authorize",
        None,
        None,
    );
    assert_eq!(r.status, 404);
}
