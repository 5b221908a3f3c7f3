//! Measures sequential signs through one client against the in-process emulator and prints
//! one JSON line: median and p90 latency, and the connections and token requests the
//! emulator saw.
//!
//! ```text
//! cargo run --release -p akv-client --example sign_loop [-- COUNT [KEY_SPEC]]
//! ```
//! `COUNT` defaults to 1000, `KEY_SPEC` to `ec:P-256` (also `rsa:2048`, ...).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use akv_client::{Client, Cloud, Config, KeyId, PublicKey, SignatureAlgorithm};
use akv_emulator::{Emulator, KeySpec, Options};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1000);
    let spec = args.next().unwrap_or_else(|| "ec:P-256".into());

    let key_spec = KeySpec::parse(&format!("vault:benchvault:bench={spec}"))?;
    let emulator = Emulator::start(Options {
        keys: vec![key_spec],
        ..Options::default()
    })?;

    let env: BTreeMap<&str, String> = BTreeMap::from([
        ("AKV_CONNECT_TO", emulator.https_addr().to_string()),
        ("AKV_CA_FILE", emulator.ca_path().display().to_string()),
        ("AZURE_POD_IDENTITY_AUTHORITY_HOST", emulator.imds_url()),
        ("AKV_CREDENTIAL", "managed_identity".to_string()),
    ]);
    let config = Config::from_map_and_lookup(&BTreeMap::new(), |name| env.get(name).cloned())?;
    let client = Client::new(config)?;

    let key = client.get_key(&KeyId::parse("akv:vault:benchvault:bench", Cloud::Public)?)?;
    let alg = match &key.public {
        PublicKey::Ec { curve, .. } => curve.signature_algorithm(),
        _ => SignatureAlgorithm::Rs256,
    };
    let digest = vec![0x5a; alg.digest_len()];

    let mut latencies: Vec<Duration> = Vec::with_capacity(count);
    let total = Instant::now();
    for _ in 0..count {
        let started = Instant::now();
        client.sign(&key.id, alg, &digest)?;
        latencies.push(started.elapsed());
    }
    let total = total.elapsed();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    let ms = |d: Duration| (d.as_secs_f64() * 1e6).round() / 1e3;

    let stats = emulator.stats();
    let line = serde_json::json!({
        "signs": count,
        "key": spec,
        "alg": alg.as_str(),
        "median_ms": ms(at(0.5)),
        "p90_ms": ms(at(0.9)),
        "max_ms": ms(*latencies.last().unwrap()),
        "total_s": (total.as_secs_f64() * 1e3).round() / 1e3,
        "emulator_connections": stats["connections"],
        "emulator_token_requests": stats["requests"]["token"],
        "emulator_sign_requests": stats["requests"]["sign"],
    });
    println!("{line}");
    Ok(())
}
