//! Clients that misbehave on purpose: stalled and trickling requests (slowloris), idle
//! kept-alive connections filling every slot, floods of empty lines. None of them may keep the
//! emulator from serving everybody else.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use akv_emulator::Options;
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

fn sign_with(h: &Harness, agent: &ureq::Agent) -> Result<u16, ureq::Error> {
    let body = json!({"alg": "RS256", "value": b64u(&[7u8; 32])}).to_string();
    agent
        .post(h.url("/keys/k//sign?api-version=7.5"))
        .header("Host", VAULT)
        .header("Authorization", format!("Bearer {}", h.vault_token))
        .header("Content-Type", "application/json")
        .send(body.as_str())
        .map(|r| r.status().as_u16())
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
    let started = Instant::now();
    assert_eq!(sign_with(&h, &impatient_agent(&h)).unwrap(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
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
    let started = Instant::now();
    assert_eq!(sign_with(&h, &impatient_agent(&h)).unwrap(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
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
