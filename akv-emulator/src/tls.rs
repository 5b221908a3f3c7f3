//! The emulator's TLS identity: a CA generated at start (written to `--ca-out`) and a leaf
//! certificate for every host name a client may send (DESIGN §5).

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::ssl::{SslAcceptor, SslMethod, SslVersion};
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509, X509NameBuilder};

/// The names on the leaf certificate: both services in every cloud, the Entra hosts, loopback.
pub const LEAF_NAMES: &[&str] = &[
    "*.vault.azure.net",
    "*.managedhsm.azure.net",
    "*.vault.azure.cn",
    "*.managedhsm.azure.cn",
    "*.vault.usgovcloudapi.net",
    "*.managedhsm.usgovcloudapi.net",
    "login.microsoftonline.com",
    "login.chinacloudapi.cn",
    "login.microsoftonline.us",
    "localhost",
];

pub struct Identity {
    pub acceptor: SslAcceptor,
    pub ca_pem: Vec<u8>,
}

fn new_key() -> Result<PKey<Private>, openssl::error::ErrorStack> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    PKey::from_ec_key(EcKey::generate(&group)?)
}

fn serial() -> Result<openssl::asn1::Asn1Integer, openssl::error::ErrorStack> {
    let mut bn = BigNum::new()?;
    bn.rand(127, MsbOption::MAYBE_ZERO, false)?;
    bn.to_asn1_integer()
}

/// Generates the CA and the leaf and builds the acceptor (TLS 1.2 and 1.3).
pub fn generate() -> Result<Identity, openssl::error::ErrorStack> {
    let ca_key = new_key()?;
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_text("O", "akv-emulator")?;
    name.append_entry_by_text("CN", "akv-emulator test CA")?;
    let ca_name = name.build();

    let mut ca = X509::builder()?;
    ca.set_version(2)?;
    ca.set_serial_number(&*serial()?)?;
    ca.set_subject_name(&ca_name)?;
    ca.set_issuer_name(&ca_name)?;
    ca.set_pubkey(&ca_key)?;
    // Valid from a day ago: clients on a machine whose clock is a little behind still accept it.
    ca.set_not_before(&*Asn1Time::from_unix(crate::util::now() - 86_400)?)?;
    ca.set_not_after(&*Asn1Time::days_from_now(3650)?)?;
    ca.append_extension(BasicConstraints::new().critical().ca().build()?)?;
    ca.append_extension(
        KeyUsage::new()
            .critical()
            .key_cert_sign()
            .crl_sign()
            .build()?,
    )?;
    let ski = SubjectKeyIdentifier::new().build(&ca.x509v3_context(None, None))?;
    ca.append_extension(ski)?;
    ca.sign(&ca_key, MessageDigest::sha256())?;
    let ca = ca.build();

    let leaf_key = new_key()?;
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_text("O", "akv-emulator")?;
    name.append_entry_by_text("CN", "akv-emulator")?;
    let leaf_name = name.build();
    let mut leaf = X509::builder()?;
    leaf.set_version(2)?;
    leaf.set_serial_number(&*serial()?)?;
    leaf.set_subject_name(&leaf_name)?;
    leaf.set_issuer_name(ca.subject_name())?;
    leaf.set_pubkey(&leaf_key)?;
    leaf.set_not_before(&*Asn1Time::from_unix(crate::util::now() - 86_400)?)?;
    leaf.set_not_after(&*Asn1Time::days_from_now(825)?)?;
    leaf.append_extension(BasicConstraints::new().critical().build()?)?;
    leaf.append_extension(
        KeyUsage::new()
            .critical()
            .digital_signature()
            .key_agreement()
            .build()?,
    )?;
    leaf.append_extension(ExtendedKeyUsage::new().server_auth().build()?)?;
    let mut san = SubjectAlternativeName::new();
    for dns in LEAF_NAMES {
        san.dns(dns);
    }
    san.ip("127.0.0.1");
    let san = san.build(&leaf.x509v3_context(Some(&ca), None))?;
    leaf.append_extension(san)?;
    let ski = SubjectKeyIdentifier::new().build(&leaf.x509v3_context(Some(&ca), None))?;
    leaf.append_extension(ski)?;
    let aki = AuthorityKeyIdentifier::new()
        .keyid(false)
        .build(&leaf.x509v3_context(Some(&ca), None))?;
    leaf.append_extension(aki)?;
    leaf.sign(&ca_key, MessageDigest::sha256())?;
    let leaf = leaf.build();

    let mut acceptor = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server())?;
    acceptor.set_min_proto_version(Some(SslVersion::TLS1_2))?;
    acceptor.set_private_key(&leaf_key)?;
    acceptor.set_certificate(&leaf)?;
    acceptor.add_extra_chain_cert(ca.clone())?;
    acceptor.check_private_key()?;
    Ok(Identity {
        acceptor: acceptor.build(),
        ca_pem: ca.to_pem()?,
    })
}
