//! Key material and algorithm types, as the service's JSON Web Key wire format names them.

use crate::keyid::KeyId;

/// A key as fetched by [`crate::Client::get_key`]: the public half, the pinned id and what the
/// service allows on it. Never holds private material.
#[derive(Clone, Debug)]
pub struct Key {
    /// The key id pinned to the version the service returned (`version()` is always `Some`).
    pub id: KeyId,
    /// The `kid` exactly as the service returned it.
    pub kid: String,
    pub kty: KeyType,
    pub public: PublicKey,
    pub key_ops: Vec<KeyOperation>,
    pub attributes: KeyAttributes,
}

/// `kty`; HSM spellings (`RSA-HSM`, `EC-HSM`, `oct-HSM`) are kept apart but mean the same family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    Rsa,
    RsaHsm,
    Ec,
    EcHsm,
    Oct,
    OctHsm,
}

/// The public half of a key, big-endian unsigned integers as the JWK carries them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// `x` and `y` are fixed length (`curve.coordinate_len()`).
    Ec {
        curve: Curve,
        x: Vec<u8>,
        y: Vec<u8>,
    },
    /// Symmetric keys have no public half.
    Symmetric,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Curve {
    P256,
    P384,
    P521,
    /// secp256k1
    P256K,
}

impl Curve {
    /// The JWK name: `P-256`, `P-384`, `P-521`, `P-256K`.
    pub fn jwk_name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
            Curve::P256K => "P-256K",
        }
    }

    pub fn from_jwk_name(name: &str) -> Option<Curve> {
        match name {
            "P-256" => Some(Curve::P256),
            "P-384" => Some(Curve::P384),
            "P-521" => Some(Curve::P521),
            "P-256K" | "SECP256K1" => Some(Curve::P256K),
            _ => None,
        }
    }

    /// Bytes of one coordinate (and of `r` or `s` in a raw signature).
    pub fn coordinate_len(self) -> usize {
        match self {
            Curve::P256 | Curve::P256K => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }

    pub fn bits(self) -> u32 {
        match self {
            Curve::P256 | Curve::P256K => 256,
            Curve::P384 => 384,
            Curve::P521 => 521,
        }
    }

    /// The one signature algorithm the service accepts on this curve.
    pub fn signature_algorithm(self) -> SignatureAlgorithm {
        match self {
            Curve::P256 => SignatureAlgorithm::Es256,
            Curve::P384 => SignatureAlgorithm::Es384,
            Curve::P521 => SignatureAlgorithm::Es512,
            Curve::P256K => SignatureAlgorithm::Es256K,
        }
    }
}

/// `key_ops` entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyOperation {
    Encrypt,
    Decrypt,
    Sign,
    Verify,
    WrapKey,
    UnwrapKey,
    Import,
    Export,
    Other(String),
}

impl KeyOperation {
    pub fn as_str(&self) -> &str {
        match self {
            KeyOperation::Encrypt => "encrypt",
            KeyOperation::Decrypt => "decrypt",
            KeyOperation::Sign => "sign",
            KeyOperation::Verify => "verify",
            KeyOperation::WrapKey => "wrapKey",
            KeyOperation::UnwrapKey => "unwrapKey",
            KeyOperation::Import => "import",
            KeyOperation::Export => "export",
            KeyOperation::Other(s) => s,
        }
    }

    pub fn parse(s: &str) -> KeyOperation {
        match s {
            "encrypt" => KeyOperation::Encrypt,
            "decrypt" => KeyOperation::Decrypt,
            "sign" => KeyOperation::Sign,
            "verify" => KeyOperation::Verify,
            "wrapKey" => KeyOperation::WrapKey,
            "unwrapKey" => KeyOperation::UnwrapKey,
            "import" => KeyOperation::Import,
            "export" => KeyOperation::Export,
            other => KeyOperation::Other(other.to_string()),
        }
    }
}

/// `attributes` of a key bundle; times are Unix seconds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyAttributes {
    pub enabled: Option<bool>,
    pub not_before: Option<i64>,
    pub expires: Option<i64>,
    pub created: Option<i64>,
    pub updated: Option<i64>,
    pub recovery_level: Option<String>,
}

/// `JsonWebKeySignatureAlgorithm`: the value to sign is the digest, of `digest_len()` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureAlgorithm {
    Rs256,
    Rs384,
    Rs512,
    Ps256,
    Ps384,
    Ps512,
    Es256,
    Es384,
    Es512,
    Es256K,
}

impl SignatureAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureAlgorithm::Rs256 => "RS256",
            SignatureAlgorithm::Rs384 => "RS384",
            SignatureAlgorithm::Rs512 => "RS512",
            SignatureAlgorithm::Ps256 => "PS256",
            SignatureAlgorithm::Ps384 => "PS384",
            SignatureAlgorithm::Ps512 => "PS512",
            SignatureAlgorithm::Es256 => "ES256",
            SignatureAlgorithm::Es384 => "ES384",
            SignatureAlgorithm::Es512 => "ES512",
            SignatureAlgorithm::Es256K => "ES256K",
        }
    }

    pub fn parse(s: &str) -> Option<SignatureAlgorithm> {
        Some(match s {
            "RS256" => SignatureAlgorithm::Rs256,
            "RS384" => SignatureAlgorithm::Rs384,
            "RS512" => SignatureAlgorithm::Rs512,
            "PS256" => SignatureAlgorithm::Ps256,
            "PS384" => SignatureAlgorithm::Ps384,
            "PS512" => SignatureAlgorithm::Ps512,
            "ES256" => SignatureAlgorithm::Es256,
            "ES384" => SignatureAlgorithm::Es384,
            "ES512" => SignatureAlgorithm::Es512,
            "ES256K" => SignatureAlgorithm::Es256K,
            _ => return None,
        })
    }

    /// Length of the digest the service expects in `value`.
    pub fn digest_len(self) -> usize {
        match self {
            SignatureAlgorithm::Rs256
            | SignatureAlgorithm::Ps256
            | SignatureAlgorithm::Es256
            | SignatureAlgorithm::Es256K => 32,
            SignatureAlgorithm::Rs384 | SignatureAlgorithm::Ps384 | SignatureAlgorithm::Es384 => 48,
            SignatureAlgorithm::Rs512 | SignatureAlgorithm::Ps512 | SignatureAlgorithm::Es512 => 64,
        }
    }
}

/// `JsonWebKeyEncryptionAlgorithm` values for RSA keys (encrypt/decrypt and wrapkey/unwrapkey).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EncryptionAlgorithm {
    /// PKCS#1 v1.5
    Rsa1_5,
    /// OAEP with SHA-1 and MGF1-SHA-1
    RsaOaep,
    /// OAEP with SHA-256 and MGF1-SHA-256
    RsaOaep256,
}

impl EncryptionAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            EncryptionAlgorithm::Rsa1_5 => "RSA1_5",
            EncryptionAlgorithm::RsaOaep => "RSA-OAEP",
            EncryptionAlgorithm::RsaOaep256 => "RSA-OAEP-256",
        }
    }

    pub fn parse(s: &str) -> Option<EncryptionAlgorithm> {
        Some(match s {
            "RSA1_5" => EncryptionAlgorithm::Rsa1_5,
            "RSA-OAEP" => EncryptionAlgorithm::RsaOaep,
            "RSA-OAEP-256" => EncryptionAlgorithm::RsaOaep256,
            _ => return None,
        })
    }
}
