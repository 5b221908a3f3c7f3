//! Shared by the integration tests: an in-process emulator and configs that reach it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use akv_client::{Client, Config, Curve, KeyId, PublicKey, SignatureAlgorithm};
use akv_emulator::{Emulator, KeySpec, Options};
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Public};
use openssl::rsa::{Padding, Rsa};
use openssl::sign::{RsaPssSaltlen, Verifier};

pub const VAULT_AUDIENCE: &str = "https://vault.azure.net";

/// `TYPE:NAME:KEY=SPEC` strings of the keys every test emulator has.
pub const KEYS: &[&str] = &[
    "vault:testvault:rsa2048=rsa:2048",
    "vault:testvault:ec256=ec:P-256",
    "vault:testvault:ec384=ec:P-384",
    "vault:testvault:ec521=ec:P-521",
    "vault:testvault:ec256k=ec:P-256K",
    "managedHsm:testhsm:rsa3072=rsa:3072",
];

pub fn start_with(options: Options) -> Emulator {
    Emulator::start(options).expect("emulator starts")
}

pub fn start() -> Emulator {
    start_with(options())
}

pub fn options() -> Options {
    Options {
        keys: KEYS.iter().map(|k| KeySpec::parse(k).unwrap()).collect(),
        ..Options::default()
    }
}

/// An environment that reaches `emu` (service via connect_to, IMDS at its listener) and
/// finds no Azure CLI, plus `extra` (which wins).
pub fn env_for(emu: &Emulator, extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    env.insert("AKV_CONNECT_TO".into(), emu.https_addr().to_string());
    env.insert("AKV_CA_FILE".into(), emu.ca_path().display().to_string());
    env.insert("AZURE_POD_IDENTITY_AUTHORITY_HOST".into(), emu.imds_url());
    env.insert("PATH".into(), "/nonexistent-akv-test-path".into());
    for (k, v) in extra {
        env.insert(k.to_string(), v.to_string());
    }
    env
}

pub fn config_from(env: &BTreeMap<String, String>) -> Config {
    Config::from_map_and_lookup(&BTreeMap::new(), |name| env.get(name).cloned())
        .expect("valid config")
}

/// A client using the emulator's IMDS (system-assigned managed identity).
pub fn client(emu: &Emulator, extra: &[(&str, &str)]) -> Client {
    Client::new(config_from(&env_for(emu, extra))).expect("client")
}

pub fn key_id(uri: &str) -> KeyId {
    KeyId::parse(uri, akv_client::Cloud::Public).unwrap()
}

pub fn stat(emu: &Emulator, op: &str) -> u64 {
    emu.stats()["requests"][op].as_u64().unwrap_or(0)
}

pub fn connections(emu: &Emulator) -> u64 {
    emu.stats()["connections"].as_u64().unwrap()
}

pub fn sha(alg: SignatureAlgorithm, data: &[u8]) -> Vec<u8> {
    openssl::hash::hash(digest_of(alg), data).unwrap().to_vec()
}

pub fn digest_of(alg: SignatureAlgorithm) -> MessageDigest {
    match alg.digest_len() {
        32 => MessageDigest::sha256(),
        48 => MessageDigest::sha384(),
        _ => MessageDigest::sha512(),
    }
}

/// The fetched public key as an OpenSSL key.
pub fn openssl_public(public: &PublicKey) -> PKey<Public> {
    match public {
        PublicKey::Rsa { n, e } => {
            let rsa = Rsa::from_public_components(
                BigNum::from_slice(n).unwrap(),
                BigNum::from_slice(e).unwrap(),
            )
            .unwrap();
            PKey::from_rsa(rsa).unwrap()
        }
        PublicKey::Ec { curve, x, y } => {
            let nid = match curve {
                Curve::P256 => Nid::X9_62_PRIME256V1,
                Curve::P384 => Nid::SECP384R1,
                Curve::P521 => Nid::SECP521R1,
                Curve::P256K => Nid::SECP256K1,
            };
            let group = EcGroup::from_curve_name(nid).unwrap();
            let ec = EcKey::from_public_key_affine_coordinates(
                &group,
                &BigNum::from_slice(x).unwrap(),
                &BigNum::from_slice(y).unwrap(),
            )
            .unwrap();
            PKey::from_ec_key(ec).unwrap()
        }
        PublicKey::Symmetric => panic!("no public key"),
    }
}

/// Verifies `signature` over `message` with OpenSSL, as an independent verifier.
pub fn openssl_verifies(
    public: &PublicKey,
    alg: SignatureAlgorithm,
    message: &[u8],
    signature: &[u8],
) -> bool {
    let pkey = openssl_public(public);
    let name = alg.as_str();
    if name.starts_with("ES") {
        let half = signature.len() / 2;
        let sig = EcdsaSig::from_private_components(
            BigNum::from_slice(&signature[..half]).unwrap(),
            BigNum::from_slice(&signature[half..]).unwrap(),
        )
        .unwrap();
        let ec = pkey.ec_key().unwrap();
        return sig.verify(&sha(alg, message), &ec).unwrap();
    }
    let mut verifier = Verifier::new(digest_of(alg), &pkey).unwrap();
    if name.starts_with("PS") {
        verifier.set_rsa_padding(Padding::PKCS1_PSS).unwrap();
        verifier
            .set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)
            .unwrap();
        verifier.set_rsa_mgf1_md(digest_of(alg)).unwrap();
    }
    verifier.update(message).unwrap();
    verifier.verify(signature).unwrap_or(false)
}

/// A directory of its own for one test, removed by the caller.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("akv-client-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn write_executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A 127.0.0.1 port with nothing listening on it.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

pub const SECOND: Duration = Duration::from_secs(1);

/// The algorithm and message of [`sign`].
pub const SIGN_ALG: SignatureAlgorithm = SignatureAlgorithm::Es256;
pub const SIGNED_MESSAGE: &[u8] = b"signed by an akv-client test";

/// One ES256 sign with the `ec256` key of `testvault`: the request most tests count.
pub fn sign(client: &Client) -> Result<Vec<u8>, akv_client::Error> {
    client.sign(
        &key_id("akv:vault:testvault:ec256"),
        SIGN_ALG,
        &sha(SIGN_ALG, SIGNED_MESSAGE),
    )
}
