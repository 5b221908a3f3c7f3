//! The HTTP server itself: stats, every fault kind, latency, body limits, chunked bodies,
//! malformed requests, keep-alive with many concurrent connections, one write per response.

mod common;

use std::time::{Duration, Instant};

use akv_emulator::Options;
use common::*;
use serde_json::json;

fn sign_body() -> String {
    json!({"alg": "RS256", "value": b64u(&[7u8; 32])}).to_string()
}

fn sign(h: &Harness) -> Reply {
    h.send(
        "POST",
        VAULT,
        "/keys/k//sign?api-version=7.5",
        Some(&h.vault_token),
        Some(&sign_body()),
    )
}

#[test]
fn stats_count_operations_and_connections_not_admin_or_401() {
    let h = Harness::new();
    h.create("vault:myvault:k=rsa:2048");
    assert_eq!(h.stats(), json!({"requests": {}, "connections": 0}));
    for _ in 0..3 {
        assert_eq!(sign(&h).status, 200);
    }
    assert_eq!(h.get(VAULT, "/keys/k?api-version=7.5").status, 200);
    assert_eq!(
        h.send("GET", VAULT, "/keys/k?api-version=7.5", None, None)
            .status,
        401
    );
    let d = b64u(&[1u8; 32]);
    h.post(
        VAULT,
        "/keys/k//verify?api-version=7.5",
        &json!({"alg": "RS256", "digest": d, "value": d}),
    );
    h.post(
        VAULT,
        "/keys/k//encrypt?api-version=7.5",
        &json!({"alg": "RSA-OAEP", "value": d}),
    );
    h.post(
        VAULT,
        "/keys/k//wrapkey?api-version=7.5",
        &json!({"alg": "RSA-OAEP", "value": d}),
    );
    h.post(
        VAULT,
        "/keys/c/create?api-version=7.5",
        &json!({"kty": "EC"}),
    );
    let stats = h.stats();
    assert_eq!(stats["requests"]["sign"], 3);
    assert_eq!(stats["requests"]["get_key"], 1);
    assert_eq!(stats["requests"]["verify"], 1);
    assert_eq!(stats["requests"]["encrypt"], 1);
    assert_eq!(stats["requests"]["wrapkey"], 1);
    assert_eq!(stats["requests"]["create"], 1);
    // ureq keeps one pooled connection: every request above went over it.
    assert_eq!(stats["connections"], 1, "{stats}");
    assert_eq!(h.emu.stats(), h.stats());
}

#[test]
fn status_fault_with_retry_after_is_used_up_then_the_request_succeeds() {
    let h = Harness::new();
    h.create("vault:myvault:k=rsa:2048");
    let r = h.send(
        "POST",
        "localhost",
        "/_emulator/faults",
        None,
        Some(r#"[{"op":"sign","status":429,"retry_after":1,"count":2}]"#),
    );
    assert_eq!(r.status, 204, "{}", r.body);
    for _ in 0..2 {
        let r = sign(&h);
        assert_eq!(r.status, 429);
        assert_eq!(r.header("retry-after"), Some("1"));
        assert_eq!(r.code(), "Throttled");
    }
    assert_eq!(sign(&h).status, 200);
    assert_eq!(h.count("sign"), 3, "faulted requests count too");
    // Faults for one op leave the others alone; 5xx bodies are service-shaped.
    h.emu
        .add_faults(&json!([{"op": "get_key", "status": 503}]))
        .unwrap();
    assert_eq!(sign(&h).status, 200);
    let r = h.get(VAULT, "/keys/k?api-version=7.5");
    assert_eq!(r.status, 503);
    assert!(r.header("retry-after").is_none());
    assert!(!r.code().is_empty());
}

#[test]
fn delay_fault_delays_then_answers() {
    let h = Harness::new();
    h.create("vault:myvault:k=rsa:2048");
    h.emu
        .add_faults(&json!([{"op": "sign", "delay_ms": 400, "count": 1}]))
        .unwrap();
    let t = Instant::now();
    assert_eq!(sign(&h).status, 200);
    assert!(t.elapsed() >= Duration::from_millis(400));
    let t = Instant::now();
    assert_eq!(sign(&h).status, 200);
    assert!(t.elapsed() < Duration::from_millis(400));
}

#[test]
fn drop_fault_reads_the_request_and_closes_without_answering() {
    let h = Harness::new();
    h.create("vault:myvault:k=rsa:2048");
    h.emu
        .add_faults(&json!([{"op": "sign", "drop": true, "count": 1}]))
        .unwrap();
    let mut raw = h.raw();
    let body = sign_body();
    raw.write(format!("POST /keys/k//sign?api-version=7.5 HTTP/1.1\r\nHost: {VAULT}\r\nAuthorization: Bearer {}\r\nContent-Length: {}\r\n\r\n{body}", h.vault_token, body.len()).as_bytes());
    assert!(
        raw.read_reply().is_none(),
        "no response on a dropped connection"
    );
    assert_eq!(h.count("sign"), 1);
    assert_eq!(sign(&h).status, 200, "the fault is used up");
}

#[test]
fn garbage_fault_answers_200_with_a_body_that_is_not_json() {
    let h = Harness::new();
    h.create("vault:myvault:k=rsa:2048");
    h.emu
        .add_faults(&json!([{"op": "get_key", "garbage": true, "count": 1}]))
        .unwrap();
    let r = h.get(VAULT, "/keys/k?api-version=7.5");
    assert_eq!(r.status, 200);
    assert!(serde_json::from_str::<serde_json::Value>(&r.body).is_err());
    assert_eq!(
        h.get(VAULT, "/keys/k?api-version=7.5").json()["key"]["kty"],
        "RSA"
    );
}

#[test]
fn token_faults_apply_to_the_identity_endpoints() {
    let h = Harness::new();
    h.emu
        .add_faults(&json!([{"op": "token", "status": 500, "count": 1}]))
        .unwrap();
    let q =
        "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net";
    let r = h.imds_get(q, &[("Metadata", "true")]);
    assert_eq!(r.status, 500);
    assert!(
        r.json()["error"].is_string(),
        "IMDS-shaped error: {}",
        r.body
    );
    assert_eq!(h.imds_get(q, &[("Metadata", "true")]).status, 200);
}

#[test]
fn clearing_faults_and_bad_fault_lists() {
    let h = Harness::new();
    h.create("vault:myvault:k=rsa:2048");
    h.emu
        .add_faults(&json!([{"op": "sign", "status": 500, "count": 100}]))
        .unwrap();
    assert_eq!(sign(&h).status, 500);
    let r = h.send(
        "DELETE",
        "whatever.example",
        "/_emulator/faults",
        None,
        None,
    );
    assert_eq!(r.status, 204);
    assert_eq!(sign(&h).status, 200);
    h.emu
        .add_faults(&json!([{"op": "sign", "status": 500}]))
        .unwrap();
    h.emu.clear_faults();
    assert_eq!(sign(&h).status, 200);
    for body in [
        r#"{"op":"sign"}"#,
        r#"[{"op":"sign"}]"#,
        r#"[{"op":"sign","status":"x"}]"#,
        "not json",
        r#"[{"op":"sign","drop":true,"colour":1}]"#,
    ] {
        let r = h.send("POST", "localhost", "/_emulator/faults", None, Some(body));
        assert_eq!(r.status, 400, "{body}");
        assert!(!r.message().is_empty());
    }
    assert!(h.emu.add_faults(&json!("sign")).is_err());
    assert_eq!(
        h.send("PUT", "localhost", "/_emulator/stats", None, Some("{}"))
            .status,
        405
    );
    assert_eq!(
        h.send("GET", "localhost", "/_emulator/nothing", None, None)
            .status,
        404
    );
    assert_eq!(
        h.stats()["connections"],
        1,
        "admin requests do not count connections"
    );
}

#[test]
fn latency_ms_delays_key_operations_only() {
    let latency = Duration::from_secs(1);
    let h = Harness::with(Options {
        latency,
        ..Options::default()
    });
    h.create("vault:myvault:k=rsa:2048");
    // Not delayed: the admin API, IMDS and Entra tokens, a 401 challenge (no key operation).
    // (Arguments are evaluated in order: the clock starts before the request is made.)
    let quick = |what: &str, started: Instant, status: u16| {
        assert!(matches!(status, 200 | 401), "{what}: {status}");
        assert!(
            started.elapsed() < latency,
            "{what} took {:?}",
            started.elapsed()
        );
    };
    let imds =
        "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net";
    let form = "grant_type=client_credentials&client_id=app&client_secret=s&scope=https%3A%2F%2Fvault.azure.net%2F.default";
    let entra = format!(
        "POST /common/oauth2/v2.0/token HTTP/1.1\r\nHost: login.microsoftonline.com\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    );
    let mut raw = h.raw();
    quick(
        "stats",
        Instant::now(),
        h.send("GET", "localhost", "/_emulator/stats", None, None)
            .status,
    );
    quick(
        "IMDS token",
        Instant::now(),
        h.imds_get(imds, &[("Metadata", "true")]).status,
    );
    quick("Entra token", Instant::now(), {
        raw.write(entra.as_bytes());
        raw.read_reply().unwrap().status
    });
    quick(
        "401",
        Instant::now(),
        h.send("GET", VAULT, "/keys/k?api-version=7.5", None, None)
            .status,
    );
    // Delayed: every key operation, reads included.
    let t = Instant::now();
    assert_eq!(sign(&h).status, 200);
    assert!(t.elapsed() >= latency, "sign took {:?}", t.elapsed());
    let t = Instant::now();
    assert_eq!(h.get(VAULT, "/keys/k?api-version=7.5").status, 200);
    assert!(t.elapsed() >= latency, "get took {:?}", t.elapsed());
}

#[test]
fn bodies_over_one_mib_get_413() {
    let h = Harness::new();
    h.create("vault:myvault:k=rsa:2048");
    let big = format!(
        "{{\"alg\":\"RS256\",\"value\":\"{}\"}}",
        "A".repeat(1024 * 1024 + 10)
    );
    let r = h.send(
        "POST",
        VAULT,
        "/keys/k//sign?api-version=7.5",
        Some(&h.vault_token),
        Some(&big),
    );
    assert_eq!(r.status, 413);
    assert!(r.message().contains("1 MiB"));
    // Chunked, over the limit.
    let mut raw = h.raw();
    raw.write(format!("POST /keys/k//sign?api-version=7.5 HTTP/1.1\r\nHost: {VAULT}\r\nAuthorization: Bearer {}\r\nTransfer-Encoding: chunked\r\n\r\n", h.vault_token).as_bytes());
    let chunk = vec![b'A'; 256 * 1024];
    for _ in 0..5 {
        raw.write(format!("{:x}\r\n", chunk.len()).as_bytes());
        raw.write(&chunk);
        raw.write(b"\r\n");
    }
    assert_eq!(raw.read_reply().unwrap().status, 413);
    // Exactly at the limit is read (and then refused as JSON, not as too large).
    let exact = " ".repeat(1024 * 1024);
    let r = h.send(
        "POST",
        VAULT,
        "/keys/k//sign?api-version=7.5",
        Some(&h.vault_token),
        Some(&exact),
    );
    assert_eq!(r.status, 400);
}

#[test]
fn chunked_request_bodies_are_read() {
    let h = Harness::new();
    h.create("vault:myvault:k=rsa:2048");
    let body = sign_body();
    let (a, b) = body.split_at(10);
    let mut raw = h.raw();
    raw.write(format!("POST /keys/k//sign?api-version=7.5 HTTP/1.1\r\nHost: {VAULT}\r\nAuthorization: Bearer {}\r\nTransfer-Encoding: chunked\r\n\r\n{:x};ext=1\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\nTrailer: x\r\n\r\n", h.vault_token, a.len(), b.len()).as_bytes());
    let r = raw.read_reply().unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    // And the connection is still usable: a pipelined pair.
    raw.write(format!("GET /keys/k?api-version=7.5 HTTP/1.1\r\nHost: {VAULT}\r\nAuthorization: Bearer {0}\r\n\r\nGET /keys/k/?api-version=7.5 HTTP/1.1\r\nHost: {VAULT}\r\nAuthorization: Bearer {0}\r\nConnection: close\r\n\r\n", h.vault_token).as_bytes());
    assert_eq!(raw.read_reply().unwrap().status, 200);
    let last = raw.read_reply().unwrap();
    assert_eq!(last.status, 200);
    assert_eq!(last.header("connection"), Some("close"));
    assert!(raw.closed());
}

#[test]
fn malformed_requests_get_400_and_never_crash_the_server() {
    let h = Harness::new();
    h.create("vault:myvault:k=rsa:2048");
    let cases: &[&[u8]] = &[
        b"GARBAGE\r\n\r\n",
        b"GET /keys/k HTTP/9.9\r\nHost: x\r\n\r\n",
        b"GET /keys/k HTTP/1.1\r\nNo colon here\r\n\r\n",
        b"GET /keys/k HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
        b"POST /keys/k//sign HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        b"POST /keys/k//sign HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST /keys/k//sign HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
        b"POST /keys/k//sign HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"GET /keys/\xff\xfe HTTP/1.1\r\n\r\n",
        b"GET keys HTTP/1.1\r\n\r\n",
        b"GET /keys/k?a=%zz HTTP/1.1\r\n\r\n",
    ];
    for case in cases {
        let mut raw = h.raw();
        raw.write(case);
        let r = raw
            .read_reply()
            .unwrap_or_else(|| panic!("no answer to {:?}", String::from_utf8_lossy(case)));
        assert_eq!(
            r.status,
            400,
            "{:?}: {}",
            String::from_utf8_lossy(case),
            r.body
        );
        assert!(!r.message().is_empty());
    }
    // A bad chunk size, a huge head.
    let mut raw = h.raw();
    raw.write(format!("POST /keys/k//sign?api-version=7.5 HTTP/1.1\r\nHost: {VAULT}\r\nAuthorization: Bearer {}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", h.vault_token).as_bytes());
    assert_eq!(raw.read_reply().unwrap().status, 400);
    let mut raw = h.raw();
    raw.write(format!("GET / HTTP/1.1\r\nX-Big: {}\r\n\r\n", "a".repeat(70 * 1024)).as_bytes());
    assert_eq!(raw.read_reply().unwrap().status, 431);
    // A client that connects and says nothing, or hangs up mid-handshake, harms nobody.
    let idle = std::net::TcpStream::connect(h.emu.https_addr()).unwrap();
    drop(std::net::TcpStream::connect(h.emu.https_addr()).unwrap());
    assert_eq!(sign(&h).status, 200);
    drop(idle);
}

#[test]
fn sixty_four_concurrent_keep_alive_connections() {
    let h = Harness::new();
    h.create("vault:myvault:k=rsa:2048");
    let mut conns: Vec<Raw> = (0..64).map(|_| h.raw()).collect();
    let request = format!(
        "GET /keys/k?api-version=7.5 HTTP/1.1\r\nHost: {VAULT}\r\nAuthorization: Bearer {}\r\n\r\n",
        h.vault_token
    );
    for round in 0..2 {
        for c in conns.iter_mut() {
            c.write(request.as_bytes());
        }
        for c in conns.iter_mut() {
            let r = c
                .read_reply()
                .expect("a response on a kept-alive connection");
            assert_eq!(r.status, 200, "round {round}");
        }
    }
    let stats = h.stats();
    assert_eq!(stats["connections"], 64);
    assert_eq!(stats["requests"]["get_key"], 128);
}

#[test]
fn concurrent_signers_from_threads_all_succeed() {
    let h = Harness::new();
    h.create("vault:myvault:k=ec:P-256");
    let body = json!({"alg": "ES256", "value": b64u(&[9u8; 32])}).to_string();
    std::thread::scope(|s| {
        for _ in 0..16 {
            s.spawn(|| {
                for _ in 0..10 {
                    let r = h.send(
                        "POST",
                        VAULT,
                        "/keys/k//sign?api-version=7.5",
                        Some(&h.vault_token),
                        Some(&body),
                    );
                    assert_eq!(r.status, 200);
                }
            });
        }
    });
    assert_eq!(h.count("sign"), 160);
}

#[test]
fn dropping_the_emulator_closes_its_listeners_and_connections() {
    let h = Harness::new();
    h.create("vault:myvault:k=rsa:2048");
    let mut raw = h.raw();
    let addr = h.emu.https_addr();
    let ca_dir = h.emu.ca_path().parent().unwrap().to_path_buf();
    assert!(ca_dir.exists());
    drop(h);
    assert!(raw.closed(), "open connections are closed");
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "the listener is gone"
    );
    assert!(!ca_dir.exists(), "the private work directory is removed");
}

#[test]
fn each_response_leaves_in_one_write() {
    use std::io::{Read, Write};
    let h = Harness::new();
    h.create("vault:myvault:k=rsa:2048");
    let mut raw = h.raw();
    let request = format!(
        "GET /keys/k?api-version=7.5 HTTP/1.1\r\nHost: {VAULT}\r\nAuthorization: Bearer {}\r\n\r\n",
        h.vault_token
    );
    for _ in 0..3 {
        raw.stream.write_all(request.as_bytes()).unwrap();
        // SSL_read returns at most one TLS record: head and body in one record means they were
        // written together (a separate header write would arrive as its own record).
        let mut buf = vec![0u8; 64 * 1024];
        let n = raw.stream.read(&mut buf).unwrap();
        let text = String::from_utf8_lossy(&buf[..n]);
        let (head, body) = text
            .split_once("\r\n\r\n")
            .expect("the whole head in the first read");
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            body.len(),
            length,
            "the body came in the same record as the head"
        );
    }
}

#[test]
fn a_chunk_size_that_overflows_is_too_large_not_a_crash() {
    let h = Harness::new();
    h.create("vault:myvault:k=rsa:2048");
    let mut raw = h.raw();
    raw.write(format!("POST /keys/k//sign?api-version=7.5 HTTP/1.1\r\nHost: {VAULT}\r\nAuthorization: Bearer {}\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{{}}\r\nffffffffffffffff\r\n", h.vault_token).as_bytes());
    assert_eq!(raw.read_reply().unwrap().status, 413);
    let mut raw = h.raw();
    raw.write(format!("POST /keys/k//sign?api-version=7.5 HTTP/1.1\r\nHost: {VAULT}\r\nAuthorization: Bearer {}\r\nContent-Length: 99999999999999999999999\r\n\r\n", h.vault_token).as_bytes());
    assert_eq!(raw.read_reply().unwrap().status, 413);
    assert_eq!(sign(&h).status, 200);
}

#[test]
fn an_injected_401_carries_the_challenge_like_a_real_one() {
    let h = Harness::new();
    h.create("vault:myvault:k=rsa:2048");
    h.emu
        .add_faults(&json!([{"op": "sign", "status": 401}]))
        .unwrap();
    let r = sign(&h);
    assert_eq!(r.status, 401);
    assert!(
        r.header("www-authenticate")
            .unwrap()
            .contains("resource=\"https://vault.azure.net\"")
    );
    assert_eq!(r.code(), "Unauthorized");
    assert_eq!(sign(&h).status, 200);
}
