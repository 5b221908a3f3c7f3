//! The little DER the provider writes itself: signature AlgorithmIdentifiers (for X.509,
//! CSR and CMS through `algorithm-id`) and ECDSA signatures (the service returns raw `r‖s`,
//! OpenSSL expects `ECDSA-Sig-Value`).

use crate::digest::Digest;
use crate::error::{Error, Result};

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const NULL: [u8; 2] = [0x05, 0x00];

/// Appends a DER length.
fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes
            .iter()
            .position(|b| *b != 0)
            .unwrap_or(bytes.len() - 1);
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// `tag len content`
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 4);
    out.push(tag);
    push_len(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

/// A non-negative INTEGER from big-endian magnitude bytes.
fn unsigned_integer(magnitude: &[u8]) -> Vec<u8> {
    let trimmed = crate::params::strip_leading_zeros(magnitude);
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.is_empty() || trimmed[0] & 0x80 != 0 {
        content.push(0);
    }
    content.extend_from_slice(trimmed);
    tlv(INTEGER, &content)
}

/// `AlgorithmIdentifier { digest, NULL }`, as OpenSSL writes hash identifiers inside
/// RSASSA-PSS parameters.
fn digest_algorithm(digest: Digest) -> Vec<u8> {
    let mut content = digest.oid_der().to_vec();
    content.extend_from_slice(&NULL);
    tlv(SEQUENCE, &content)
}

/// `sha{256,384,512}WithRSAEncryption` with NULL parameters.
pub fn algorithm_id_rsa_pkcs1(digest: Digest) -> Result<Vec<u8>> {
    let last = match digest {
        Digest::Sha256 => 0x0b,
        Digest::Sha384 => 0x0c,
        Digest::Sha512 => 0x0d,
        Digest::Sha1 => 0x05,
    };
    let mut content = vec![
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, last,
    ];
    content.extend_from_slice(&NULL);
    Ok(tlv(SEQUENCE, &content))
}

/// `id-RSASSA-PSS` with full parameters: hash, MGF1 with the same hash, salt length
/// (trailerField left at its default), exactly as OpenSSL's default provider encodes them.
pub fn algorithm_id_rsa_pss(digest: Digest, salt_len: usize) -> Result<Vec<u8>> {
    let hash = digest_algorithm(digest);
    let mut mgf1 = vec![
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08,
    ];
    mgf1.extend_from_slice(&hash);
    let mgf1 = tlv(SEQUENCE, &mgf1);
    let salt = unsigned_integer(&(salt_len as u64).to_be_bytes());

    let mut params = tlv(0xa0, &hash);
    params.extend_from_slice(&tlv(0xa1, &mgf1));
    params.extend_from_slice(&tlv(0xa2, &salt));

    let mut content = vec![
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a,
    ];
    content.extend_from_slice(&tlv(SEQUENCE, &params));
    Ok(tlv(SEQUENCE, &content))
}

/// `ecdsa-with-SHA{256,384,512}` with absent parameters (RFC 5758).
pub fn algorithm_id_ecdsa(digest: Digest) -> Result<Vec<u8>> {
    let last = match digest {
        Digest::Sha256 => 0x02,
        Digest::Sha384 => 0x03,
        Digest::Sha512 => 0x04,
        Digest::Sha1 => {
            return Err(Error::unsupported(
                "ECDSA with SHA-1 is not supported by Azure Key Vault",
            ));
        }
    };
    let content = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, last];
    Ok(tlv(SEQUENCE, &content))
}

/// Raw `r‖s` (each `coordinate_len` bytes) → DER `SEQUENCE { INTEGER r, INTEGER s }`.
pub fn ecdsa_raw_to_der(raw: &[u8], coordinate_len: usize) -> Result<Vec<u8>> {
    if raw.len() != 2 * coordinate_len {
        return Err(Error::new(
            crate::error::Reason::InvalidResponse,
            format!(
                "ECDSA signature from the service is {} bytes, expected {}",
                raw.len(),
                2 * coordinate_len
            ),
        ));
    }
    let (r, s) = raw.split_at(coordinate_len);
    let mut content = unsigned_integer(r);
    content.extend_from_slice(&unsigned_integer(s));
    Ok(tlv(SEQUENCE, &content))
}

/// The largest DER ECDSA signature on a curve whose order has `order_bits` bits, as
/// `ECDSA_size` computes it (r = s = the order): each INTEGER holds `order_bits / 8 + 1`
/// bytes at most (a sign byte when the order fills its top byte, as on P-256; none on P-521,
/// whose top byte is 0x01).
pub fn ecdsa_max_der_len(order_bits: u32) -> usize {
    let magnitude = order_bits as usize / 8 + 1;
    let integer = 1 + der_len_len(magnitude) + magnitude;
    let content = 2 * integer;
    1 + der_len_len(content) + content
}

fn der_len_len(len: usize) -> usize {
    let mut v = Vec::new();
    push_len(&mut v, len);
    v.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn pss_sha256_algorithm_id_matches_openssl_default_provider_byte_for_byte() {
        // From a certificate made by `openssl req -x509 -sigopt rsa_padding_mode:pss
        // -sigopt rsa_pss_saltlen:digest -sha256` with the default provider.
        let expected = hex(
            "304106092a864886f70d01010a3034a00f300d06096086480165030402010500a11c301a06092a\
             864886f70d010108300d06096086480165030402010500a203020120",
        );
        assert_eq!(algorithm_id_rsa_pss(Digest::Sha256, 32).unwrap(), expected);
    }

    #[test]
    fn pss_sha512_algorithm_id_has_salt_64() {
        let aid = algorithm_id_rsa_pss(Digest::Sha512, 64).unwrap();
        assert!(aid.ends_with(&[0xa2, 0x03, 0x02, 0x01, 0x40]));
    }

    #[test]
    fn pkcs1_algorithm_ids_carry_null_parameters() {
        assert_eq!(
            algorithm_id_rsa_pkcs1(Digest::Sha256).unwrap(),
            hex("300d06092a864886f70d01010b0500")
        );
        assert_eq!(
            algorithm_id_rsa_pkcs1(Digest::Sha512).unwrap(),
            hex("300d06092a864886f70d01010d0500")
        );
    }

    #[test]
    fn ecdsa_algorithm_ids_have_absent_parameters() {
        assert_eq!(
            algorithm_id_ecdsa(Digest::Sha256).unwrap(),
            hex("300a06082a8648ce3d040302")
        );
        assert_eq!(
            algorithm_id_ecdsa(Digest::Sha384).unwrap(),
            hex("300a06082a8648ce3d040303")
        );
        assert!(algorithm_id_ecdsa(Digest::Sha1).is_err());
    }

    #[test]
    fn ecdsa_raw_to_der_adds_sign_bytes_and_strips_leading_zeros() {
        let mut raw = vec![0u8; 64];
        raw[0] = 0x80; // r has its high bit set: needs a 0x00 prefix
        raw[31] = 0x01;
        raw[32] = 0x00; // s starts with zeros: they are stripped
        raw[33] = 0x00;
        raw[34] = 0x7f;
        raw[63] = 0x02;
        let der = ecdsa_raw_to_der(&raw, 32).unwrap();
        assert_eq!(der[0], 0x30);
        assert_eq!(&der[2..5], &[0x02, 0x21, 0x00]);
        assert_eq!(der[5], 0x80);
        let s_at = 2 + 2 + 33;
        assert_eq!(&der[s_at..s_at + 3], &[0x02, 0x1e, 0x7f]);
        assert_eq!(der.len(), 2 + (2 + 33) + (2 + 30));
        assert_eq!(der[1] as usize, der.len() - 2);
    }

    #[test]
    fn ecdsa_raw_to_der_uses_long_lengths_for_p521() {
        // The largest P-521 scalars start with 0x01: no sign byte, 66-byte INTEGERs.
        let mut raw = vec![0xffu8; 132];
        raw[0] = 0x01;
        raw[66] = 0x01;
        let der = ecdsa_raw_to_der(&raw, 66).unwrap();
        assert_eq!(&der[..3], &[0x30, 0x81, 0x88]);
        assert_eq!(der.len(), ecdsa_max_der_len(521));
    }

    #[test]
    fn ecdsa_raw_to_der_rejects_a_wrong_length() {
        assert!(ecdsa_raw_to_der(&[0u8; 63], 32).is_err());
    }

    #[test]
    fn ecdsa_max_sizes_match_openssl() {
        // ECDSA_size() for P-256 and secp256k1, P-384, P-521 (tests/in_process.rs compares
        // them with the default provider's answer for the same keys).
        assert_eq!(ecdsa_max_der_len(256), 72);
        assert_eq!(ecdsa_max_der_len(384), 104);
        assert_eq!(ecdsa_max_der_len(521), 139);
    }
}
