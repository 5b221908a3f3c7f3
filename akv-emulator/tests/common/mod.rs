//! Shared helpers for the emulator's integration tests: an in-process emulator, a ureq agent
//! that trusts its CA, a raw TLS client for what ureq will not send, and independent checks
//! with OpenSSL.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;

use akv_emulator::{Emulator, KeySpec, Options};
use base64::Engine;
use openssl::ssl::{SslConnector, SslMethod, SslStream};
use serde_json::Value;

pub const VAULT: &str = "myvault.vault.azure.net";
pub const HSM: &str = "myhsm.managedhsm.azure.net";
pub const VAULT_AUD: &str = "https://vault.azure.net";
pub const HSM_AUD: &str = "https://managedhsm.azure.net";

pub fn b64u(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unb64u(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap_or_else(|e| panic!("not base64url ({e}): {text}"))
}

pub fn spec(s: &str) -> KeySpec {
    KeySpec::parse(s).unwrap()
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {} body is not JSON ({e}): {}",
                self.status, self.body
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The service error code, `error.code`.
    pub fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    pub fn message(&self) -> String {
        self.json()["error"]["message"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }
}

/// Status, headers and body of a ureq response.
fn reply_of(mut response: ureq::http::Response<ureq::Body>) -> Reply {
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    Reply {
        status,
        headers,
        body,
    }
}

pub struct Harness {
    pub emu: Emulator,
    pub agent: ureq::Agent,
    pub vault_token: String,
    pub hsm_token: String,
}

pub fn agent_for(emu: &Emulator) -> ureq::Agent {
    let pem = std::fs::read(emu.ca_path()).unwrap();
    let cert = ureq::tls::Certificate::from_pem(&pem).unwrap().to_owned();
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::new_with_certs(&[cert]))
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .max_idle_connections_per_host(100)
        .build()
        .into()
}

impl Harness {
    pub fn new() -> Harness {
        Harness::with(Options::default())
    }

    pub fn with(options: Options) -> Harness {
        let emu = Emulator::start(options).expect("the emulator starts");
        let agent = agent_for(&emu);
        let vault_token = emu.issue_token(VAULT_AUD);
        let hsm_token = emu.issue_token(HSM_AUD);
        Harness {
            emu,
            agent,
            vault_token,
            hsm_token,
        }
    }

    pub fn token_for(&self, host: &str) -> &str {
        if host.contains(".managedhsm.") {
            &self.hsm_token
        } else {
            &self.vault_token
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://{}{}", self.emu.https_addr(), path)
    }

    /// Sends a request to `host` (Host header) on the emulator's HTTPS port.
    pub fn send(
        &self,
        method: &str,
        host: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Reply {
        let mut builder = ureq::http::Request::builder()
            .method(method)
            .uri(self.url(path))
            .header("Host", host);
        if let Some(token) = token {
            builder = builder.header("Authorization", format!("Bearer {token}"));
        }
        let result = match body {
            Some(body) => {
                let request = builder
                    .header("Content-Type", "application/json")
                    .body(body.to_string())
                    .unwrap();
                self.agent.run(request)
            }
            None => self.agent.run(builder.body(()).unwrap()),
        };
        reply_of(result.unwrap_or_else(|e| panic!("{method} {path}: {e}")))
    }

    /// An authenticated request with the right token for `host`.
    pub fn call(&self, method: &str, host: &str, path: &str, body: Option<&Value>) -> Reply {
        let body = body.map(|b| b.to_string());
        self.send(
            method,
            host,
            path,
            Some(self.token_for(host)),
            body.as_deref(),
        )
    }

    pub fn get(&self, host: &str, path: &str) -> Reply {
        self.call("GET", host, path, None)
    }

    pub fn post(&self, host: &str, path: &str, body: &Value) -> Reply {
        self.call("POST", host, path, Some(body))
    }

    /// Creates a key through the library API and returns (name, version).
    pub fn create(&self, s: &str) -> (String, String) {
        let spec = spec(s);
        let kid = self.emu.create_key(&spec).unwrap();
        let version = kid.rsplit('/').next().unwrap().to_string();
        (spec.name, version)
    }

    pub fn stats(&self) -> Value {
        let reply = self.send("GET", "localhost", "/_emulator/stats", None, None);
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()
    }

    pub fn count(&self, op: &str) -> u64 {
        self.stats()["requests"][op].as_u64().unwrap_or(0)
    }

    pub fn imds_get(&self, path_and_query: &str, headers: &[(&str, &str)]) -> Reply {
        let mut builder = ureq::http::Request::builder().method("GET").uri(format!(
            "{}{}",
            self.emu.imds_url(),
            path_and_query
        ));
        for (n, v) in headers {
            builder = builder.header(*n, *v);
        }
        reply_of(
            self.agent
                .run(builder.body(()).unwrap())
                .unwrap_or_else(|e| panic!("GET {path_and_query}: {e}")),
        )
    }

    /// A raw TLS connection to the HTTPS port, for requests ureq will not send.
    pub fn raw(&self) -> Raw {
        let mut connector = SslConnector::builder(SslMethod::tls_client()).unwrap();
        connector.set_ca_file(self.emu.ca_path()).unwrap();
        let connector = connector.build();
        let tcp = TcpStream::connect(self.emu.https_addr()).unwrap();
        tcp.set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        let tls = connector.connect(VAULT, tcp).unwrap();
        Raw {
            stream: tls,
            buf: Vec::new(),
        }
    }
}

pub struct Raw {
    pub stream: SslStream<TcpStream>,
    buf: Vec<u8>,
}

impl Raw {
    pub fn write(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16384];
        match self.stream.read(&mut chunk) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// Reads one response (Content-Length framed); `None` if the server closed instead.
    pub fn read_reply(&mut self) -> Option<Reply> {
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if !self.fill() {
                return None;
            }
        };
        let head = String::from_utf8(self.buf.drain(..head_end).collect()).unwrap();
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers: Vec<(String, String)> = lines
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (n, v) = l.split_once(':').unwrap();
                (n.trim().to_string(), v.trim().to_string())
            })
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .map(|(_, v)| v.parse().unwrap())
            .unwrap_or(0);
        while self.buf.len() < length {
            if !self.fill() {
                return None;
            }
        }
        let body =
            String::from_utf8_lossy(&self.buf.drain(..length).collect::<Vec<_>>()).to_string();
        Some(Reply {
            status,
            headers,
            body,
        })
    }

    /// Whether the server closed the connection (EOF with nothing more to read).
    pub fn closed(&mut self) -> bool {
        self.buf.is_empty() && !self.fill()
    }
}

/// A public key rebuilt from the JWK GET returned: what an independent verifier has.
pub fn public_key(jwk: &Value) -> openssl::pkey::PKey<openssl::pkey::Public> {
    use openssl::bn::{BigNum, BigNumContext};
    use openssl::pkey::PKey;
    let bn = |f: &str| BigNum::from_slice(&unb64u(jwk[f].as_str().unwrap())).unwrap();
    match jwk["kty"].as_str().unwrap() {
        "RSA" | "RSA-HSM" => {
            PKey::from_rsa(openssl::rsa::Rsa::from_public_components(bn("n"), bn("e")).unwrap())
                .unwrap()
        }
        "EC" | "EC-HSM" => {
            let nid = match jwk["crv"].as_str().unwrap() {
                "P-256" => openssl::nid::Nid::X9_62_PRIME256V1,
                "P-384" => openssl::nid::Nid::SECP384R1,
                "P-521" => openssl::nid::Nid::SECP521R1,
                "P-256K" => openssl::nid::Nid::SECP256K1,
                other => panic!("unexpected curve {other}"),
            };
            let group = openssl::ec::EcGroup::from_curve_name(nid).unwrap();
            let mut point = openssl::ec::EcPoint::new(&group).unwrap();
            let mut ctx = BigNumContext::new().unwrap();
            point
                .set_affine_coordinates_gfp(&group, &bn("x"), &bn("y"), &mut ctx)
                .unwrap();
            PKey::from_ec_key(openssl::ec::EcKey::from_public_key(&group, &point).unwrap()).unwrap()
        }
        other => panic!("no public key for kty {other}"),
    }
}

pub fn digest(alg_hash: &str, data: &[u8]) -> Vec<u8> {
    let md = match alg_hash {
        "256" => openssl::hash::MessageDigest::sha256(),
        "384" => openssl::hash::MessageDigest::sha384(),
        "512" => openssl::hash::MessageDigest::sha512(),
        other => panic!("no hash {other}"),
    };
    openssl::hash::hash(md, data).unwrap().to_vec()
}
