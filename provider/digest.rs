//! The digests the provider deals in, and the names OpenSSL uses for them.

use std::ffi::CStr;

use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Digest {
    /// Only for OAEP (`RSA-OAEP`) and local verification; the service signs no SHA-1.
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Digest {
    /// Parses the names OpenSSL and its applications use (`SHA256`, `SHA2-256`, `sha-256`,
    /// OIDs); anything else (SHA-224, SHA-512/256, SHA-3, MD5, ...) is returned as `Err` with
    /// the name, so callers can say which digest they refused.
    pub fn parse(name: &str) -> std::result::Result<Digest, String> {
        let upper = name.trim().to_ascii_uppercase();
        let compact: String = upper.chars().filter(|c| *c != '-' && *c != '_').collect();
        match compact.as_str() {
            "SHA1" | "SHA" | "1.3.14.3.2.26" => Ok(Digest::Sha1),
            "SHA256" | "SHA2256" | "2.16.840.1.101.3.4.2.1" => Ok(Digest::Sha256),
            "SHA384" | "SHA2384" | "2.16.840.1.101.3.4.2.2" => Ok(Digest::Sha384),
            "SHA512" | "SHA2512" | "2.16.840.1.101.3.4.2.3" => Ok(Digest::Sha512),
            _ => Err(name.to_string()),
        }
    }

    /// Parses a digest for a signature: SHA-256/384/512 only.
    pub fn parse_for_signature(name: &str) -> Result<Digest> {
        match Digest::parse(name) {
            Ok(Digest::Sha1) | Err(_) => Err(Error::unsupported(format!(
                "digest '{name}' is not supported: Azure Key Vault signs only SHA-256, SHA-384 \
                 and SHA-512 digests"
            ))),
            Ok(d) => Ok(d),
        }
    }

    pub fn size(self) -> usize {
        match self {
            Digest::Sha1 => 20,
            Digest::Sha256 => 32,
            Digest::Sha384 => 48,
            Digest::Sha512 => 64,
        }
    }

    /// For `EVP_PKEY_sign` without a digest: 32/48/64 bytes → SHA-256/384/512.
    pub fn from_len(len: usize) -> Option<Digest> {
        match len {
            32 => Some(Digest::Sha256),
            48 => Some(Digest::Sha384),
            64 => Some(Digest::Sha512),
            _ => None,
        }
    }

    /// OpenSSL's canonical name (what `EVP_MD_fetch` and `default-digest` use).
    pub fn name(self) -> &'static CStr {
        match self {
            Digest::Sha1 => c"SHA1",
            Digest::Sha256 => c"SHA256",
            Digest::Sha384 => c"SHA384",
            Digest::Sha512 => c"SHA512",
        }
    }

    pub fn name_str(self) -> &'static str {
        match self {
            Digest::Sha1 => "SHA1",
            Digest::Sha256 => "SHA256",
            Digest::Sha384 => "SHA384",
            Digest::Sha512 => "SHA512",
        }
    }

    /// DER of the digest's OBJECT IDENTIFIER (tag and length included).
    pub fn oid_der(self) -> &'static [u8] {
        match self {
            Digest::Sha1 => &[0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a],
            Digest::Sha256 => &[
                0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
            ],
            Digest::Sha384 => &[
                0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02,
            ],
            Digest::Sha512 => &[
                0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03,
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_names_openssl_uses() {
        for n in [
            "SHA256",
            "sha256",
            "SHA2-256",
            "SHA-256",
            "2.16.840.1.101.3.4.2.1",
        ] {
            assert_eq!(Digest::parse(n), Ok(Digest::Sha256), "{n}");
        }
        assert_eq!(Digest::parse("SHA2-384"), Ok(Digest::Sha384));
        assert_eq!(Digest::parse("sha512"), Ok(Digest::Sha512));
        assert_eq!(Digest::parse("SHA1"), Ok(Digest::Sha1));
        assert!(Digest::parse("SHA512-256").is_err());
        assert!(Digest::parse("SHA224").is_err());
        assert!(Digest::parse("MD5").is_err());
    }

    #[test]
    fn signature_digests_exclude_sha1_and_sha224_with_a_clear_message() {
        let err = Digest::parse_for_signature("SHA1").unwrap_err();
        assert!(
            err.message.contains("'SHA1' is not supported"),
            "{}",
            err.message
        );
        assert!(Digest::parse_for_signature("SHA224").is_err());
        assert_eq!(
            Digest::parse_for_signature("SHA384").unwrap(),
            Digest::Sha384
        );
    }

    #[test]
    fn digest_length_selects_the_digest() {
        assert_eq!(Digest::from_len(32), Some(Digest::Sha256));
        assert_eq!(Digest::from_len(48), Some(Digest::Sha384));
        assert_eq!(Digest::from_len(64), Some(Digest::Sha512));
        assert_eq!(Digest::from_len(20), None);
    }
}
