//! Clients that misbehave on purpose: stalled and trickling requests (slowloris), idle
//! kept-alive connections filling every slot, floods of empty lines. None of them may keep the
//! emulator from serving everybody else.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use akv_emulator::{Options, TENANT_ID};
use common::*;
use serde_json::json;

/// A client with a deadline of its own, so a starved request fails the test instead of
/// hanging it.
fn impatient_agent(h: &Harness) -> ureq::Agent {
    let pem = std::fs::read(h.emu.ca_path()).unwrap();
    let cert = ureq::tls::Certificate::from_pem(&pem).unwrap().to_owned();
    ureq::Agent::config_builder()
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::new_with_certs(&[cert]))
                .build(),
        )
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// A sign over a new connection, from a client that gives up after 10 s, answered within 5 s.
fn assert_a_new_client_is_served_at_once(h: &Harness) {
    let body = json!({"alg": "RS256", "value": b64u(&[7u8; 32])}).to_string();
    let started = Instant::now();
    let status = impatient_agent(h)
        .post(h.url("/keys/k//sign?api-version=7.5"))
        .header("Host", VAULT)
        .header("Authorization", format!("Bearer {}", h.vault_token))
        .header("Content-Type", "application/json")
        .send(body.as_str())
        .map(|r| r.status().as_u16());
    assert_eq!(status.unwrap(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn stalled_and_trickling_requests_are_cut_off_and_others_are_served() {
    let h = Harness::with(Options {
        threads: 3,
        request_timeout: Duration::from_secs(1),
        ..Options::default()
    });
    h.create("vault:myvault:k=rsa:2048");
    // One client stops half-way through its request head, one never finishes the TLS
    // handshake, one sends its head a byte at a time, faster than any per-read timeout.
    let mut stalled = h.raw();
    stalled.write(b"POST /keys/k//sign?api-version=7.5 HTTP/1.1\r\nHost: ");
    let silent = TcpStream::connect(h.emu.https_addr()).unwrap();
    let trickler = std::thread::spawn({
        let mut raw = h.raw();
        move || {
            let started = Instant::now();
            let head = b"GET /keys/k?api-version=7.5 HTTP/1.1\r\nHost: myvault.vault.azure.net\r\n";
            for byte in head.iter().cycle() {
                if raw.stream.write_all(&[*byte]).is_err() || started.elapsed().as_secs() > 20 {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            started.elapsed()
        }
    });
    // Every slot is taken; the emulator must cut the three off to serve this one.
    assert_a_new_client_is_served_at_once(&h);
    let trickled = trickler.join().unwrap();
    assert!(
        trickled < Duration::from_secs(5),
        "trickled for {trickled:?}"
    );
    // A client cut off mid-request is told why before the connection closes.
    let reply = stalled.read_reply().expect("a 408 before the close");
    assert_eq!(reply.status, 408);
    assert!(stalled.closed());
    drop(silent);
}

#[test]
fn a_stalled_body_is_answered_408_on_both_listeners() {
    let h = Harness::with(Options {
        request_timeout: Duration::from_secs(1),
        ..Options::default()
    });
    h.create("vault:myvault:k=rsa:2048");
    let mut raw = h.raw();
    raw.write(format!("POST /keys/k//sign?api-version=7.5 HTTP/1.1\r\nHost: {VAULT}\r\nAuthorization: Bearer {}\r\nContent-Length: 100\r\n\r\n{{\"alg\":", h.vault_token).as_bytes());
    let started = Instant::now();
    let r = raw.read_reply().expect("a 408");
    assert_eq!(r.status, 408);
    assert_eq!(r.code(), "RequestTimeout");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(raw.closed());

    let mut imds = TcpStream::connect(h.emu.imds_url().trim_start_matches("http://")).unwrap();
    imds.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    imds.write_all(b"GET /metadata/identity/oauth2/token HTTP/1.1\r\nContent-Length: 5\r\n\r\nab")
        .unwrap();
    let mut answer = String::new();
    let _ = imds.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    assert!(answer.contains("\"error_description\""), "{answer}");
}

#[test]
fn idle_kept_alive_connections_make_room_for_new_clients() {
    let h = Harness::with(Options {
        threads: 2,
        ..Options::default()
    });
    h.create("vault:myvault:k=rsa:2048");
    let request = format!(
        "GET /keys/k?api-version=7.5 HTTP/1.1\r\nHost: {VAULT}\r\nAuthorization: Bearer {}\r\n\r\n",
        h.vault_token
    );
    let mut idle: Vec<Raw> = (0..2).map(|_| h.raw()).collect();
    for conn in idle.iter_mut() {
        conn.write(request.as_bytes());
        assert_eq!(conn.read_reply().unwrap().status, 200);
    }
    // Both slots hold idle kept-alive connections: a new client still gets an answer at once,
    // and the longest idle connection is the one closed for it.
    assert_a_new_client_is_served_at_once(&h);
    assert!(idle[0].closed(), "the longest idle connection made room");
}

#[test]
fn a_flood_of_empty_lines_is_refused_quickly() {
    let h = Harness::new();
    let mut conn = TcpStream::connect(h.emu.imds_url().trim_start_matches("http://")).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = Instant::now();
    let flood = b"\r\n".repeat(512 * 1024);
    // The server may stop reading (and close) before the whole flood is written.
    let _ = conn.write_all(&flood);
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        answer.starts_with(b"HTTP/1.1 4"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
}

/// Panics in the emulator's own threads (named `akv-emulator-...`): a connection thread that
/// panics only loses its connection, so nothing else would notice.
static EMULATOR_PANICS: AtomicUsize = AtomicUsize::new(0);

fn count_emulator_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current();
            if thread.name().is_some_and(|n| n.starts_with("akv-emulator")) {
                EMULATOR_PANICS.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }));
    });
}

/// xorshift64: the same inputs on every run.
struct Inputs(u64);

impl Inputs {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn random_bytes(&mut self, max: u64) -> Vec<u8> {
        (0..(self.next() % max))
            .map(|_| self.next() as u8)
            .collect()
    }

    /// `valid` with one to four bytes replaced, inserted or removed.
    fn mutate(&mut self, valid: &[u8]) -> Vec<u8> {
        let mut m = valid.to_vec();
        for _ in 0..(1 + self.next() % 4) {
            let at = (self.next() as usize) % m.len();
            match self.next() % 3 {
                0 => m[at] = self.next() as u8,
                1 => m.insert(at, self.next() as u8),
                _ => {
                    m.remove(at);
                }
            }
        }
        m
    }
}

/// What came back for one input; an answer must be HTTP.
fn check_answer(what: &str, answer: &[u8]) {
    if !answer.is_empty() {
        assert!(
            answer.starts_with(b"HTTP/1.1 "),
            "{what} got a non-HTTP answer: {:?}",
            String::from_utf8_lossy(&answer[..answer.len().min(80)])
        );
    }
}

fn request(method: &str, host: &str, path: &str, token: &str, body: &str) -> Vec<u8> {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Requests the service port really gets, each valid before it is mutated: they reach JSON
/// parsing, base64url, key import, the crypto, the token endpoint and the admin API.
fn https_templates(h: &Harness) -> Vec<Vec<u8>> {
    let (vt, ht) = (h.vault_token.as_str(), h.hsm_token.as_str());
    let rsa = openssl::rsa::Rsa::generate(2048).unwrap();
    let b = |n: &openssl::bn::BigNumRef| b64u(&n.to_vec());
    let rsa_jwk = json!({"key": {"kty": "RSA", "n": b(rsa.n()), "e": b(rsa.e()), "d": b(rsa.d()),
        "p": b(rsa.p().unwrap()), "q": b(rsa.q().unwrap()), "dp": b(rsa.dmp1().unwrap()),
        "dq": b(rsa.dmq1().unwrap()), "qi": b(rsa.iqmp().unwrap())}});
    let ec = openssl::ec::EcKey::generate(
        &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap(),
    )
    .unwrap();
    let (mut x, mut y) = (
        openssl::bn::BigNum::new().unwrap(),
        openssl::bn::BigNum::new().unwrap(),
    );
    ec.public_key()
        .affine_coordinates(
            ec.group(),
            &mut x,
            &mut y,
            &mut openssl::bn::BigNumContext::new().unwrap(),
        )
        .unwrap();
    let ec_jwk = json!({"key": {"kty": "EC", "crv": "P-256", "x": b(&x), "y": b(&y),
        "d": b(ec.private_key())}, "attributes": {"exp": 4_000_000_000u64}});
    let sign = json!({"alg": "RS256", "value": b64u(&[7u8; 32])}).to_string();
    let decrypt = json!({"alg": "RSA-OAEP", "value": b64u(&[3u8; 256])}).to_string();
    let gcm = json!({"alg": "A256GCM", "value": b64u(b"0123456789"), "iv": b64u(&[1u8; 12]),
        "tag": b64u(&[2u8; 16]), "aad": b64u(b"aad")})
    .to_string();
    let create = json!({"kty": "EC", "crv": "P-384", "key_ops": ["sign", "verify"],
        "attributes": {"enabled": true, "nbf": 1, "exp": 4_000_000_000u64}, "tags": {"a": "b"}})
    .to_string();
    let patch = json!({"key_ops": ["sign"], "attributes": {"enabled": false}}).to_string();
    let entra = "grant_type=client_credentials&client_id=app&client_secret=s3cret&scope=https%3A%2F%2Fvault.azure.net%2F.default";
    vec![
        request("POST", VAULT, "/keys/k//sign?api-version=7.5", vt, &sign),
        request("POST", VAULT, "/keys/k//decrypt?api-version=7.5", vt, &decrypt),
        request("PUT", VAULT, "/keys/imported?api-version=7.5", vt, &rsa_jwk.to_string()),
        request("PUT", HSM, "/keys/imported-ec", ht, &ec_jwk.to_string()),
        request("POST", HSM, "/keys/aes//decrypt", ht, &gcm),
        request("POST", VAULT, "/keys/new/create?api-version=7.5", vt, &create),
        request("PATCH", VAULT, "/keys/k?api-version=7.5", vt, &patch),
        request("GET", VAULT, "/keys?api-version=7.5&maxresults=2", vt, ""),
        format!(
            "POST /{TENANT_ID}/oauth2/v2.0/token HTTP/1.1\r\nHost: login.microsoftonline.com\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{entra}",
            entra.len()
        )
        .into_bytes(),
        request("POST", "localhost", "/_emulator/faults", "", r#"[{"op":"nothing","status":500}]"#),
    ]
}

#[test]
fn random_and_mutated_input_on_both_listeners_never_panics_or_takes_the_server_down() {
    count_emulator_panics();
    let h = Harness::new();
    h.create("vault:myvault:k=rsa:2048");
    h.create("managedHsm:myhsm:aes=oct:256");
    let mut inputs = Inputs(0x9e37_79b9_7f4a_7c15);

    // IMDS: plain HTTP, closed for writing after the input so the server sees its end.
    let imds = h.emu.imds_url().trim_start_matches("http://").to_string();
    let valid_imds = b"GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net HTTP/1.1\r\nHost: x\r\nMetadata: true\r\nContent-Length: 3\r\n\r\nabc";
    for i in 0..300 {
        let input = if i % 2 == 0 {
            inputs.random_bytes(300)
        } else {
            inputs.mutate(valid_imds)
        };
        let mut conn = TcpStream::connect(&imds).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let _ = conn.write_all(&input);
        let _ = conn.shutdown(std::net::Shutdown::Write);
        let mut answer = Vec::new();
        let _ = conn.read_to_end(&mut answer);
        check_answer(&format!("IMDS input {i}"), &answer);
    }

    // The service port below TLS: garbage instead of a handshake.
    for i in 0..50 {
        let mut conn = TcpStream::connect(h.emu.https_addr()).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let _ = conn.write_all(&inputs.random_bytes(400));
        let _ = conn.shutdown(std::net::Shutdown::Write);
        let mut answer = Vec::new();
        let _ = conn.read_to_end(&mut answer);
        assert!(
            !answer.starts_with(b"HTTP/"),
            "TLS input {i} got plain HTTP"
        );
    }

    // The service port over TLS: random bytes and mutated real requests, then close_notify.
    let templates = https_templates(&h);
    let mut connector =
        openssl::ssl::SslConnector::builder(openssl::ssl::SslMethod::tls_client()).unwrap();
    connector.set_ca_file(h.emu.ca_path()).unwrap();
    let connector = connector.build();
    for i in 0..400 {
        let input = if i % 4 == 0 {
            inputs.random_bytes(600)
        } else {
            let template = &templates[(inputs.next() as usize) % templates.len()];
            inputs.mutate(template)
        };
        let tcp = TcpStream::connect(h.emu.https_addr()).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut tls = connector.connect(VAULT, tcp).unwrap();
        let _ = tls.write_all(&input);
        let _ = tls.shutdown();
        let mut answer = Vec::new();
        let _ = tls.read_to_end(&mut answer);
        check_answer(&format!("HTTPS input {i}"), &answer);
    }

    h.emu.clear_faults();
    assert_eq!(
        EMULATOR_PANICS.load(Ordering::SeqCst),
        0,
        "a connection thread panicked"
    );
    let r = h.imds_get(
        "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net",
        &[("Metadata", "true")],
    );
    assert_eq!(r.status, 200, "IMDS still answers");
    let sign = json!({"alg": "RS256", "value": b64u(&[7u8; 32])});
    assert_eq!(
        h.post(VAULT, "/keys/k//sign?api-version=7.5", &sign).status,
        200,
        "the vault still answers"
    );
}
