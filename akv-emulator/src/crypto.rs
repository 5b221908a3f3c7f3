//! The cryptography behind sign, verify, encrypt, decrypt, wrapkey and unwrapkey, with the
//! service's algorithm sets and checks (azure-keys-api.md §1.6–1.7). Real OpenSSL calls.

use openssl::bn::BigNum;
use openssl::cipher::{Cipher, CipherRef};
use openssl::cipher_ctx::CipherCtx;
use openssl::ecdsa::EcdsaSig;
use openssl::md::{Md, MdRef};
use openssl::pkey::{PKey, Private};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::Padding;
use openssl::sign::RsaPssSaltlen;

use crate::error::ApiError;
use crate::keys::{Curve, Material};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn md(self) -> &'static MdRef {
        match self {
            Hash::Sha256 => Md::sha256(),
            Hash::Sha384 => Md::sha384(),
            Hash::Sha512 => Md::sha512(),
        }
    }
    fn len(self) -> usize {
        match self {
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
            Hash::Sha512 => 64,
        }
    }
}

enum SigAlg {
    /// PKCS#1 v1.5 (`pss` false) or PSS with salt = hash length, MGF1 with the same hash.
    Rsa {
        pss: bool,
        hash: Hash,
    },
    /// PKCS#1 v1.5 over caller-supplied bytes (a DigestInfo), no hashing.
    RsaNull,
    Ec {
        curve: Curve,
        hash: Hash,
    },
}

fn sig_alg(alg: &str) -> Option<SigAlg> {
    use Hash::*;
    Some(match alg {
        "RS256" => SigAlg::Rsa {
            pss: false,
            hash: Sha256,
        },
        "RS384" => SigAlg::Rsa {
            pss: false,
            hash: Sha384,
        },
        "RS512" => SigAlg::Rsa {
            pss: false,
            hash: Sha512,
        },
        "PS256" => SigAlg::Rsa {
            pss: true,
            hash: Sha256,
        },
        "PS384" => SigAlg::Rsa {
            pss: true,
            hash: Sha384,
        },
        "PS512" => SigAlg::Rsa {
            pss: true,
            hash: Sha512,
        },
        "RSNULL" => SigAlg::RsaNull,
        "ES256" => SigAlg::Ec {
            curve: Curve::P256,
            hash: Sha256,
        },
        "ES384" => SigAlg::Ec {
            curve: Curve::P384,
            hash: Sha384,
        },
        "ES512" => SigAlg::Ec {
            curve: Curve::P521,
            hash: Sha512,
        },
        "ES256K" => SigAlg::Ec {
            curve: Curve::P256K,
            hash: Sha256,
        },
        _ => return None,
    })
}

const SIGN_ALGS: &str =
    "PS256, PS384, PS512, RS256, RS384, RS512, RSNULL, ES256, ES384, ES512, ES256K";

fn unknown_alg(alg: &str, list: &str) -> ApiError {
    ApiError::bad(format!(
        "Invalid value {alg} for property alg: expected one of {list}."
    ))
}

fn incompatible(alg: &str, material: &Material) -> ApiError {
    let what = match material {
        Material::Ec(_, curve) => format!("EC key on curve {}", curve.name()),
        Material::Rsa(_) => "RSA key".to_string(),
        Material::Oct(k) => format!("{}-bit AES key", k.len() * 8),
    };
    ApiError::bad(format!(
        "Key and algorithm are incompatible: {alg} cannot be used with an {what}."
    ))
}

fn digest_length(alg: &str, digest: &[u8], hash: Hash) -> Result<(), ApiError> {
    if digest.len() == hash.len() {
        Ok(())
    } else {
        Err(ApiError::bad(format!(
            "Invalid length of 'value': {} bytes. {alg} requires {} bytes, encoded with base64url.",
            digest.len(),
            hash.len()
        )))
    }
}

fn internal(e: openssl::error::ErrorStack) -> ApiError {
    ApiError::new(500, "InternalServerError", format!("OpenSSL failed: {e}"))
}

fn rsa_ctx(pkey: &PKey<Private>) -> Result<PkeyCtx<Private>, ApiError> {
    PkeyCtx::new(pkey).map_err(internal)
}

fn rsa_sig_setup(
    ctx: &mut PkeyCtx<Private>,
    pss: bool,
    hash: Option<Hash>,
) -> Result<(), ApiError> {
    if pss {
        ctx.set_rsa_padding(Padding::PKCS1_PSS).map_err(internal)?;
    } else {
        ctx.set_rsa_padding(Padding::PKCS1).map_err(internal)?;
    }
    if let Some(hash) = hash {
        ctx.set_signature_md(hash.md()).map_err(internal)?;
        if pss {
            ctx.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)
                .map_err(internal)?;
            ctx.set_rsa_mgf1_md(hash.md()).map_err(internal)?;
        }
    }
    Ok(())
}

/// Signs a pre-computed digest; ECDSA signatures come back as raw `r‖s`.
pub fn sign(material: &Material, alg: &str, digest: &[u8]) -> Result<Vec<u8>, ApiError> {
    let parsed = sig_alg(alg).ok_or_else(|| unknown_alg(alg, SIGN_ALGS))?;
    match (parsed, material) {
        (SigAlg::Rsa { pss, hash }, Material::Rsa(pkey)) => {
            digest_length(alg, digest, hash)?;
            let mut ctx = rsa_ctx(pkey)?;
            ctx.sign_init().map_err(internal)?;
            rsa_sig_setup(&mut ctx, pss, Some(hash))?;
            let mut sig = Vec::new();
            ctx.sign_to_vec(digest, &mut sig).map_err(internal)?;
            Ok(sig)
        }
        (SigAlg::RsaNull, Material::Rsa(pkey)) => {
            let max = pkey.size() - 11;
            if digest.is_empty() || digest.len() > max {
                return Err(ApiError::bad(format!(
                    "Invalid length of 'value': {} bytes. RSNULL takes 1 to {max} bytes with this key.",
                    digest.len()
                )));
            }
            let mut ctx = rsa_ctx(pkey)?;
            ctx.sign_init().map_err(internal)?;
            rsa_sig_setup(&mut ctx, false, None)?;
            let mut sig = Vec::new();
            ctx.sign_to_vec(digest, &mut sig).map_err(internal)?;
            Ok(sig)
        }
        (SigAlg::Ec { curve, hash }, Material::Ec(pkey, key_curve)) if curve == *key_curve => {
            digest_length(alg, digest, hash)?;
            let ec = pkey.ec_key().map_err(internal)?;
            let sig = EcdsaSig::sign(digest, &ec).map_err(internal)?;
            let len = curve.field_len() as i32;
            let mut raw = sig.r().to_vec_padded(len).map_err(internal)?;
            raw.extend(sig.s().to_vec_padded(len).map_err(internal)?);
            Ok(raw)
        }
        _ => Err(incompatible(alg, material)),
    }
}

/// Verifies a signature over a digest. A signature of the wrong shape is simply invalid.
pub fn verify(
    material: &Material,
    alg: &str,
    digest: &[u8],
    signature: &[u8],
) -> Result<bool, ApiError> {
    let parsed = sig_alg(alg).ok_or_else(|| unknown_alg(alg, SIGN_ALGS))?;
    match (parsed, material) {
        (SigAlg::Rsa { pss, hash }, Material::Rsa(pkey)) => {
            digest_length(alg, digest, hash)?;
            let mut ctx = rsa_ctx(pkey)?;
            ctx.verify_init().map_err(internal)?;
            rsa_sig_setup(&mut ctx, pss, Some(hash))?;
            Ok(ctx.verify(digest, signature).unwrap_or(false))
        }
        (SigAlg::RsaNull, Material::Rsa(pkey)) => {
            let mut ctx = rsa_ctx(pkey)?;
            ctx.verify_init().map_err(internal)?;
            rsa_sig_setup(&mut ctx, false, None)?;
            Ok(ctx.verify(digest, signature).unwrap_or(false))
        }
        (SigAlg::Ec { curve, hash }, Material::Ec(pkey, key_curve)) if curve == *key_curve => {
            digest_length(alg, digest, hash)?;
            let len = curve.field_len();
            if signature.len() != 2 * len {
                return Ok(false);
            }
            let r = BigNum::from_slice(&signature[..len]).map_err(internal)?;
            let s = BigNum::from_slice(&signature[len..]).map_err(internal)?;
            let sig = EcdsaSig::from_private_components(r, s).map_err(internal)?;
            let ec = pkey.ec_key().map_err(internal)?;
            Ok(sig.verify(digest, &ec).unwrap_or(false))
        }
        _ => Err(incompatible(alg, material)),
    }
}

/// Which REST operation a cipher call serves: the algorithm sets differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CipherOp {
    Encrypt,
    Decrypt,
    Wrap,
    Unwrap,
}

impl CipherOp {
    fn protects(self) -> bool {
        matches!(self, CipherOp::Encrypt | CipherOp::Wrap)
    }
    fn name(self) -> &'static str {
        match self {
            CipherOp::Encrypt => "encrypt",
            CipherOp::Decrypt => "decrypt",
            CipherOp::Wrap => "wrapKey",
            CipherOp::Unwrap => "unwrapKey",
        }
    }
}

#[derive(Default)]
pub struct CipherInput {
    pub value: Vec<u8>,
    pub iv: Option<Vec<u8>>,
    pub aad: Option<Vec<u8>>,
    pub tag: Option<Vec<u8>>,
}

#[derive(Default, Debug)]
pub struct CipherOutput {
    pub value: Vec<u8>,
    pub iv: Option<Vec<u8>>,
    pub tag: Option<Vec<u8>>,
    pub aad: Option<Vec<u8>>,
}

enum AesMode {
    Gcm,
    Cbc { pad: bool },
    Kw { pad: bool },
}

const RSA_ALGS: &str = "RSA-OAEP, RSA-OAEP-256, RSA1_5";
const AES_CIPHER_ALGS: &str =
    "A128GCM, A192GCM, A256GCM, A128CBC, A192CBC, A256CBC, A128CBCPAD, A192CBCPAD, A256CBCPAD";
const AES_WRAP_ALGS: &str = "A128KW, A192KW, A256KW, CKM_AES_KEY_WRAP, CKM_AES_KEY_WRAP_PAD";

/// Parses an AES algorithm name: (mode, required key bytes, or None for "the key's size").
fn aes_alg(alg: &str) -> Option<(AesMode, Option<usize>)> {
    let sized = |rest: &str| -> Option<usize> {
        match rest.get(..3)? {
            "128" => Some(16),
            "192" => Some(24),
            "256" => Some(32),
            _ => None,
        }
    };
    match alg {
        "CKM_AES_KEY_WRAP" => return Some((AesMode::Kw { pad: false }, None)),
        "CKM_AES_KEY_WRAP_PAD" => return Some((AesMode::Kw { pad: true }, None)),
        _ => {}
    }
    let rest = alg.strip_prefix('A')?;
    let size = sized(rest)?;
    let mode = match &rest[3..] {
        "GCM" => AesMode::Gcm,
        "CBC" => AesMode::Cbc { pad: false },
        "CBCPAD" => AesMode::Cbc { pad: true },
        "KW" => AesMode::Kw { pad: false },
        _ => return None,
    };
    Some((mode, Some(size)))
}

/// Encrypt, decrypt, wrap or unwrap with `material`.
pub fn cipher(
    material: &Material,
    op: CipherOp,
    alg: &str,
    input: &CipherInput,
) -> Result<CipherOutput, ApiError> {
    match material {
        Material::Rsa(pkey) => rsa_cipher(pkey, op, alg, &input.value),
        Material::Oct(key) => aes_cipher(key, op, alg, input),
        Material::Ec(..) => Err(ApiError::bad(format!(
            "Operation {} is not supported by EC keys.",
            op.name()
        ))),
    }
}

fn rsa_cipher(
    pkey: &PKey<Private>,
    op: CipherOp,
    alg: &str,
    value: &[u8],
) -> Result<CipherOutput, ApiError> {
    let (padding, hash): (Padding, Option<&MdRef>) = match alg {
        "RSA1_5" => (Padding::PKCS1, None),
        "RSA-OAEP" => (Padding::PKCS1_OAEP, Some(Md::sha1())),
        "RSA-OAEP-256" => (Padding::PKCS1_OAEP, Some(Md::sha256())),
        _ if aes_alg(alg).is_some() => {
            return Err(ApiError::bad(format!(
                "Key and algorithm are incompatible: {alg} cannot be used with an RSA key."
            )));
        }
        _ => return Err(unknown_alg(alg, RSA_ALGS)),
    };
    let k = pkey.size();
    let mut ctx = PkeyCtx::new(pkey).map_err(internal)?;
    if op.protects() {
        let max = match hash {
            None => k - 11,
            Some(md) => k - 2 * md.size() - 2,
        };
        if value.len() > max {
            return Err(ApiError::bad(format!(
                "Invalid length of 'value': {} bytes. {alg} with a {}-bit key takes at most {max} bytes.",
                value.len(),
                k * 8
            )));
        }
        ctx.encrypt_init().map_err(internal)?;
    } else {
        if value.len() != k {
            return Err(ApiError::bad(format!(
                "Invalid length of 'value': {} bytes. A {}-bit key's ciphertext is {k} bytes.",
                value.len(),
                k * 8
            )));
        }
        ctx.decrypt_init().map_err(internal)?;
    }
    ctx.set_rsa_padding(padding).map_err(internal)?;
    if let Some(md) = hash {
        ctx.set_rsa_oaep_md(md).map_err(internal)?;
        ctx.set_rsa_mgf1_md(md).map_err(internal)?;
    }
    let mut out = Vec::new();
    if op.protects() {
        ctx.encrypt_to_vec(value, &mut out).map_err(internal)?;
    } else {
        ctx.decrypt_to_vec(value, &mut out).map_err(|_| {
            ApiError::bad(format!(
                "The ciphertext could not be decrypted with this key and {alg}."
            ))
        })?;
    }
    Ok(CipherOutput {
        value: out,
        ..CipherOutput::default()
    })
}

fn aes_cipher(
    key: &[u8],
    op: CipherOp,
    alg: &str,
    input: &CipherInput,
) -> Result<CipherOutput, ApiError> {
    let wrapping = matches!(op, CipherOp::Wrap | CipherOp::Unwrap);
    let list = if wrapping {
        AES_WRAP_ALGS
    } else {
        AES_CIPHER_ALGS
    };
    let Some((mode, size)) = aes_alg(alg) else {
        if matches!(alg, "RSA1_5" | "RSA-OAEP" | "RSA-OAEP-256") {
            return Err(ApiError::bad(format!(
                "Key and algorithm are incompatible: {alg} cannot be used with an AES key."
            )));
        }
        return Err(unknown_alg(alg, list));
    };
    if matches!(mode, AesMode::Kw { .. }) != wrapping {
        return Err(ApiError::bad(format!(
            "Algorithm {alg} cannot be used for {}: use one of {list}.",
            op.name()
        )));
    }
    if let Some(size) = size
        && size != key.len()
    {
        return Err(ApiError::bad(format!(
            "Key and algorithm are incompatible: {alg} needs a {}-bit key, this key is {}-bit.",
            size * 8,
            key.len() * 8
        )));
    }
    let pick =
        |c128: &'static CipherRef, c192: &'static CipherRef, c256: &'static CipherRef| match key
            .len()
        {
            16 => c128,
            24 => c192,
            _ => c256,
        };
    match mode {
        AesMode::Gcm => {
            let cipher = pick(
                Cipher::aes_128_gcm(),
                Cipher::aes_192_gcm(),
                Cipher::aes_256_gcm(),
            );
            gcm(cipher, key, op, input)
        }
        AesMode::Cbc { pad } => {
            let cipher = pick(
                Cipher::aes_128_cbc(),
                Cipher::aes_192_cbc(),
                Cipher::aes_256_cbc(),
            );
            cbc(cipher, key, op, pad, input)
        }
        AesMode::Kw { pad } => {
            let cipher = if pad {
                pick(
                    Cipher::aes_128_wrap_pad(),
                    Cipher::aes_192_wrap_pad(),
                    Cipher::aes_256_wrap_pad(),
                )
            } else {
                pick(
                    Cipher::aes_128_wrap(),
                    Cipher::aes_192_wrap(),
                    Cipher::aes_256_wrap(),
                )
            };
            key_wrap(cipher, key, op, pad, alg, &input.value)
        }
    }
}

fn field_bytes<'a>(
    value: &'a Option<Vec<u8>>,
    field: &str,
    len: usize,
    alg: &str,
) -> Result<&'a [u8], ApiError> {
    match value {
        Some(v) if v.len() == len => Ok(v),
        Some(v) => Err(ApiError::bad(format!(
            "Invalid length of '{field}': {} bytes. {alg} requires {len} bytes.",
            v.len()
        ))),
        None => Err(ApiError::bad(format!(
            "The request is missing the required property {field} for {alg}."
        ))),
    }
}

fn gcm(
    cipher: &CipherRef,
    key: &[u8],
    op: CipherOp,
    input: &CipherInput,
) -> Result<CipherOutput, ApiError> {
    let alg = format!("A{}GCM", key.len() * 8);
    let mut ctx = CipherCtx::new().map_err(internal)?;
    let mut out = Vec::new();
    if op == CipherOp::Encrypt {
        let iv = match &input.iv {
            None => crate::util::random_bytes(12),
            Some(_) => field_bytes(&input.iv, "iv", 12, &alg)?.to_vec(),
        };
        ctx.encrypt_init(Some(cipher), Some(key), Some(&iv))
            .map_err(internal)?;
        if let Some(aad) = &input.aad {
            ctx.cipher_update(aad, None).map_err(internal)?;
        }
        ctx.cipher_update_vec(&input.value, &mut out)
            .map_err(internal)?;
        ctx.cipher_final_vec(&mut out).map_err(internal)?;
        let mut tag = vec![0u8; 16];
        ctx.tag(&mut tag).map_err(internal)?;
        Ok(CipherOutput {
            value: out,
            iv: Some(iv),
            tag: Some(tag),
            aad: input.aad.clone(),
        })
    } else {
        let iv = field_bytes(&input.iv, "iv", 12, &alg)?;
        let tag = field_bytes(&input.tag, "tag", 16, &alg)?;
        ctx.decrypt_init(Some(cipher), Some(key), Some(iv))
            .map_err(internal)?;
        if let Some(aad) = &input.aad {
            ctx.cipher_update(aad, None).map_err(internal)?;
        }
        ctx.cipher_update_vec(&input.value, &mut out)
            .map_err(internal)?;
        ctx.set_tag(tag).map_err(internal)?;
        ctx.cipher_final_vec(&mut out).map_err(|_| {
            ApiError::bad(format!(
                "The ciphertext could not be decrypted with this key and {alg}: authentication failed."
            ))
        })?;
        Ok(CipherOutput {
            value: out,
            ..CipherOutput::default()
        })
    }
}

fn cbc(
    cipher: &CipherRef,
    key: &[u8],
    op: CipherOp,
    pad: bool,
    input: &CipherInput,
) -> Result<CipherOutput, ApiError> {
    let alg = format!("A{}CBC{}", key.len() * 8, if pad { "PAD" } else { "" });
    let encrypt = op == CipherOp::Encrypt;
    let iv = match (&input.iv, encrypt) {
        (None, true) => crate::util::random_bytes(16),
        _ => field_bytes(&input.iv, "iv", 16, &alg)?.to_vec(),
    };
    if (!pad || !encrypt) && input.value.len() % 16 != 0 {
        return Err(ApiError::bad(format!(
            "Invalid length of 'value': {} bytes. {alg} requires a multiple of 16 bytes.",
            input.value.len()
        )));
    }
    let mut ctx = CipherCtx::new().map_err(internal)?;
    if encrypt {
        ctx.encrypt_init(Some(cipher), Some(key), Some(&iv))
            .map_err(internal)?;
    } else {
        ctx.decrypt_init(Some(cipher), Some(key), Some(&iv))
            .map_err(internal)?;
    }
    ctx.set_padding(pad);
    let mut out = Vec::new();
    ctx.cipher_update_vec(&input.value, &mut out)
        .map_err(internal)?;
    ctx.cipher_final_vec(&mut out).map_err(|_| {
        ApiError::bad(format!(
            "The ciphertext could not be decrypted with this key and {alg}: bad padding."
        ))
    })?;
    Ok(CipherOutput {
        value: out,
        iv: encrypt.then_some(iv),
        ..CipherOutput::default()
    })
}

fn key_wrap(
    cipher: &CipherRef,
    key: &[u8],
    op: CipherOp,
    pad: bool,
    alg: &str,
    value: &[u8],
) -> Result<CipherOutput, ApiError> {
    let wrap = op == CipherOp::Wrap;
    let shape_ok = match (wrap, pad) {
        (true, false) => value.len() >= 16 && value.len() % 8 == 0,
        (true, true) => !value.is_empty(),
        (false, _) => value.len() >= 16 && value.len() % 8 == 0,
    };
    if !shape_ok {
        return Err(ApiError::bad(format!(
            "Invalid length of 'value': {} bytes. {alg} {} a multiple of 8 bytes, at least 16.",
            value.len(),
            if wrap && !pad { "wraps" } else { "takes" }
        )));
    }
    let mut ctx = CipherCtx::new().map_err(internal)?;
    if wrap {
        ctx.encrypt_init(Some(cipher), Some(key), None)
            .map_err(internal)?;
    } else {
        ctx.decrypt_init(Some(cipher), Some(key), None)
            .map_err(internal)?;
    }
    let mut out = vec![0u8; value.len() + 16];
    let n = ctx.cipher_update(value, Some(&mut out)).map_err(|_| {
        ApiError::bad(format!(
            "The wrapped key could not be unwrapped with this key and {alg}."
        ))
    })?;
    out.truncate(n);
    Ok(CipherOutput {
        value: out,
        ..CipherOutput::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_algorithm_names_are_unknown_not_a_panic() {
        for alg in [
            "", "A", "A12", "Aé€", "A€x", "A128", "A128XYZ", "CKM_AES", "ES", "RS2",
        ] {
            let key = Material::Oct(vec![0u8; 16]);
            let input = CipherInput {
                value: vec![0u8; 16],
                ..CipherInput::default()
            };
            assert_eq!(
                cipher(&key, CipherOp::Encrypt, alg, &input)
                    .unwrap_err()
                    .status,
                400,
                "{alg}"
            );
            assert_eq!(
                cipher(&key, CipherOp::Wrap, alg, &input)
                    .unwrap_err()
                    .status,
                400,
                "{alg}"
            );
        }
    }
}
