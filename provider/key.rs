//! A loaded key: the pinned key id, the public half, what the service allows on it, and the
//! client that reaches it. This is OpenSSL's "keydata" for our keymgmt, shared by `Arc`.
//!
//! The reference the store hands to OpenSSL is 16 bytes (`magic`, pointer), never 8: the
//! default RSA/EC keymgmt treats any 8-byte reference as a pointer to its own key object.

use std::ffi::{CStr, c_void};
use std::sync::{Arc, OnceLock};

use akv_client::{Client, Curve, Key, KeyId, KeyOperation, PublicKey};

use crate::context::{ProviderContext, clone_arc};
use crate::digest::Digest;
use crate::error::{self, Error, Failure, Reason, Result};
use crate::local::LocalKey;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Rsa { bits: u32 },
    Ec { curve: Curve },
}

pub struct AkvKey {
    pub provider: Arc<ProviderContext>,
    pub client: Arc<Client>,
    /// As fetched; `key.id` is pinned to the version the service returned.
    pub key: Key,
    pub kind: KeyKind,
    local: OnceLock<Result<LocalKey>>,
}

// OpenSSL shares one key object between threads (keydata is an `Arc` behind a raw pointer,
// so the compiler cannot see it): keep it Send + Sync.
const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<AkvKey>();
};

impl AkvKey {
    pub fn new(provider: Arc<ProviderContext>, client: Arc<Client>, key: Key) -> Result<AkvKey> {
        let kind = match &key.public {
            PublicKey::Rsa { n, e } => {
                let bits = significant_bits(n);
                if bits < 512 || significant_bits(e) == 0 {
                    return Err(Error::new(
                        Reason::InvalidResponse,
                        format!(
                            "{}: the service returned an RSA public key with a {bits}-bit \
                             modulus and a {}-bit exponent",
                            key.id.describe(),
                            significant_bits(e)
                        ),
                    ));
                }
                KeyKind::Rsa { bits }
            }
            PublicKey::Ec { curve, x, y } => {
                let len = curve.coordinate_len();
                if x.len() != len || y.len() != len {
                    return Err(Error::new(
                        Reason::InvalidResponse,
                        format!("{}: EC coordinates are not {len} bytes", key.id.describe()),
                    ));
                }
                KeyKind::Ec { curve: *curve }
            }
            PublicKey::Symmetric => {
                return Err(Error::unsupported(format!(
                    "{} is a symmetric (oct) key: only RSA and EC keys can be used through OpenSSL",
                    key.id.describe()
                )));
            }
        };
        Ok(AkvKey {
            provider,
            client,
            key,
            kind,
            local: OnceLock::new(),
        })
    }

    pub fn id(&self) -> &KeyId {
        &self.key.id
    }

    /// `key 'rsa1' in vault 'myvault'`
    pub fn describe(&self) -> String {
        self.key.id.describe()
    }

    /// The keymgmt name OpenSSL looks up (`OSSL_OBJECT_PARAM_DATA_TYPE`).
    pub fn data_type(&self) -> &'static CStr {
        match self.kind {
            KeyKind::Rsa { .. } => c"RSA",
            KeyKind::Ec { .. } => c"EC",
        }
    }

    pub fn bits(&self) -> u32 {
        match self.kind {
            KeyKind::Rsa { bits } => bits,
            KeyKind::Ec { curve } => curve.bits(),
        }
    }

    /// What OpenSSL's default provider answers for the same public key: RSA as SP 800-56B
    /// estimates it (`RSA_security_bits`), EC half the order size.
    pub fn security_bits(&self) -> u32 {
        match self.kind {
            KeyKind::Rsa { bits } => rsa_security_bits(bits),
            KeyKind::Ec { curve } => match curve {
                Curve::P256 | Curve::P256K => 128,
                Curve::P384 => 192,
                Curve::P521 => 256,
            },
        }
    }

    /// RSA: modulus bytes. EC: the largest DER ECDSA signature.
    pub fn max_signature_size(&self) -> usize {
        match self.kind {
            KeyKind::Rsa { bits } => bits.div_ceil(8) as usize,
            KeyKind::Ec { curve } => crate::der::ecdsa_max_der_len(curve.bits()),
        }
    }

    /// What OpenSSL signs with when no digest is named (DESIGN §6.3).
    pub fn default_digest(&self) -> Digest {
        match self.kind {
            KeyKind::Rsa { .. } => Digest::Sha256,
            KeyKind::Ec { curve } => curve_digest(curve),
        }
    }

    pub fn is_rsa(&self) -> bool {
        matches!(self.kind, KeyKind::Rsa { .. })
    }

    /// Refuses an operation the key's `key_ops` leaves out, before any network.
    pub fn check_operation(&self, op: KeyOperation) -> Result<()> {
        let ops = &self.key.key_ops;
        if ops.is_empty() || ops.contains(&op) {
            return Ok(());
        }
        let allowed: Vec<&str> = ops.iter().map(|o| o.as_str()).collect();
        Err(Error::new(
            Reason::OperationNotPermitted,
            format!(
                "{} not permitted on {} (its key_ops are: {})",
                op.as_str(),
                self.describe(),
                allowed.join(", ")
            ),
        ))
    }

    /// The public half as a default-provider key in the provider's private library context.
    pub fn local_key(&self) -> Result<&LocalKey> {
        crate::context::built_once(&self.local, || {
            self.provider.local()?.public_key(&self.key.public)
        })
        .as_ref()
        .map_err(Clone::clone)
    }
}

/// The digest the service pairs with a curve: ES256 / ES384 / ES512 / ES256K.
pub fn curve_digest(curve: Curve) -> Digest {
    match curve {
        Curve::P256 | Curve::P256K => Digest::Sha256,
        Curve::P384 => Digest::Sha384,
        Curve::P521 => Digest::Sha512,
    }
}

/// OpenSSL's short name of a curve (what libssl passes to `OBJ_txt2nid`).
pub fn group_name(curve: Curve) -> &'static str {
    group_name_cstr(curve).to_str().unwrap_or("")
}

pub fn group_name_cstr(curve: Curve) -> &'static CStr {
    match curve {
        Curve::P256 => c"prime256v1",
        Curve::P384 => c"secp384r1",
        Curve::P521 => c"secp521r1",
        Curve::P256K => c"secp256k1",
    }
}

/// Uncompressed point `04 ‖ x ‖ y`.
pub fn ec_point(x: &[u8], y: &[u8]) -> Vec<u8> {
    let mut point = Vec::with_capacity(1 + x.len() + y.len());
    point.push(0x04);
    point.extend_from_slice(x);
    point.extend_from_slice(y);
    point
}

/// NIST SP 800-56B rev 2 Appendix D's strength estimate for an RSA modulus of `bits` bits,
/// exactly as OpenSSL 3's default provider reports it (`RSA_security_bits`): the standards'
/// canonical values for the usual sizes, else
/// `E = (1.923 · ∛(n·ln2 · ln(n·ln2)²) − 4.69) / ln2` in 18-bit fixed point (OpenSSL's
/// arithmetic, whose truncations decide the sizes near a rounding boundary), rounded to a
/// multiple of 8 and capped so that it never decreases with the size.
pub(crate) fn rsa_security_bits(bits: u32) -> u32 {
    match bits {
        2048 => return 112,
        3072 => return 128,
        4096 => return 152,
        6144 => return 176,
        7680 => return 192,
        8192 => return 200,
        15360 => return 256,
        687_737.. => return 1200,
        0..8 => return 0,
        _ => {}
    }
    const SCALE: u64 = 1 << 18;
    const fn scaled(v: f64) -> u64 {
        (v * SCALE as f64) as u64
    }
    const LN_2: u64 = scaled(std::f64::consts::LN_2);
    const LOG2_E: u64 = scaled(std::f64::consts::LOG2_E);
    let mul = |a: u64, b: u64| a * b / SCALE;
    // ln(v / SCALE) · SCALE for v > SCALE: the binary logarithm one bit at a time (squaring
    // the mantissa), then divided by log2(e).
    let ln = |mut v: u64| {
        let mut log2 = 0;
        while v >= 2 * SCALE {
            v >>= 1;
            log2 += SCALE;
        }
        let mut bit = SCALE / 2;
        while bit != 0 {
            v = mul(v, v);
            if v >= 2 * SCALE {
                v >>= 1;
                log2 += bit;
            }
            bit /= 2;
        }
        log2 * SCALE / LOG2_E
    };
    // ∛(v / SCALE) · SCALE: the integer cube root of v, times SCALE^(2/3).
    let cbrt = |v: u64| {
        let (mut low, mut high) = (0u64, 1u64 << 22);
        while low < high {
            let mid = (low + high).div_ceil(2);
            if u128::from(mid).pow(3) <= u128::from(v) {
                low = mid;
            } else {
                high = mid - 1;
            }
        }
        low << 12
    };
    let x = u64::from(bits) * LN_2;
    let ln_x = ln(x);
    let estimate = (mul(scaled(1.923), cbrt(mul(mul(x, ln_x), ln_x))) - scaled(4.69)) / LN_2;
    let cap = match bits {
        ..=7680 => 192,
        7681..=15360 => 256,
        _ => 1200,
    };
    ((estimate as u32 + 4) & !7).min(cap)
}

fn significant_bits(big_endian: &[u8]) -> u32 {
    let trimmed = crate::params::strip_leading_zeros(big_endian);
    match trimmed.first() {
        None => 0,
        Some(first) => (trimmed.len() as u32 - 1) * 8 + (8 - first.leading_zeros()),
    }
}

// ---------------------------------------------------------------------------------------
// The store → keymgmt reference, and keydata pointers
// ---------------------------------------------------------------------------------------

const REFERENCE_MAGIC: u64 = u64::from_be_bytes(*b"AKVKEY01");

/// What `OSSL_OBJECT_PARAM_REFERENCE` carries: valid while the store context that made it
/// holds its `Arc` (until `close`).
#[repr(C)]
pub struct KeyReference {
    magic: u64,
    key: *const AkvKey,
}

impl KeyReference {
    pub fn new(key: &Arc<AkvKey>) -> KeyReference {
        KeyReference {
            magic: REFERENCE_MAGIC,
            key: Arc::as_ptr(key),
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: a repr(C) struct of two plain fields, viewed as its bytes.
        unsafe {
            std::slice::from_raw_parts(
                self as *const KeyReference as *const u8,
                std::mem::size_of::<KeyReference>(),
            )
        }
    }

    /// Takes a new strong reference to the key behind a reference that we made; `None` for
    /// anything else (wrong size or magic).
    ///
    /// # Safety
    /// `ptr` points at `len` readable bytes; if they are one of our references, the store
    /// context that made it is still open.
    pub unsafe fn resolve(ptr: *const c_void, len: usize) -> Option<Arc<AkvKey>> {
        if ptr.is_null() || len != std::mem::size_of::<KeyReference>() {
            return None;
        }
        // SAFETY: `len` bytes are readable; read unaligned in case the core copied them.
        let reference = unsafe { std::ptr::read_unaligned(ptr as *const KeyReference) };
        if reference.magic != REFERENCE_MAGIC || reference.key.is_null() {
            return None;
        }
        // SAFETY: the pointer came from `Arc::as_ptr` of a key the open store still holds.
        Some(unsafe { clone_arc(reference.key) })
    }
}

/// Hands one strong reference to OpenSSL as keydata.
pub fn into_keydata(key: Arc<AkvKey>) -> *mut c_void {
    Arc::into_raw(key) as *mut c_void
}

/// The key behind keydata, for the duration of one call.
///
/// # Safety
/// `keydata` is NULL or a pointer from [`into_keydata`] not yet freed.
pub unsafe fn keydata_ref<'a>(keydata: *const c_void) -> Option<&'a AkvKey> {
    // SAFETY: per the contract, a live `Arc` allocation or NULL.
    unsafe { (keydata as *const AkvKey).as_ref() }
}

/// A new strong reference to the key behind keydata (which stays owned by OpenSSL), for an
/// object that keeps the key (an operation context, a duplicate).
///
/// # Safety
/// As [`keydata_ref`].
pub unsafe fn borrow_keydata(keydata: *const c_void) -> Result<Arc<AkvKey>> {
    if keydata.is_null() {
        return Err(Error::invalid_argument("no key"));
    }
    // SAFETY: per the contract, `keydata` is a live Arc pointer.
    Ok(unsafe { clone_arc(keydata as *const AkvKey) })
}

/// The key an operation's `*_init` works on: `keydata`, or, when OpenSSL passes NULL (3.2+
/// re-initialises a context that way to keep its key), the key of the previous init.
///
/// # Safety
/// As [`keydata_ref`].
pub unsafe fn key_for_init(
    keydata: *const c_void,
    previous: Option<&Arc<AkvKey>>,
) -> Result<Arc<AkvKey>> {
    match previous {
        Some(key) if keydata.is_null() => Ok(key.clone()),
        // SAFETY: per the contract.
        _ => unsafe { borrow_keydata(keydata) },
    }
}

/// Releases the reference [`into_keydata`] handed out.
///
/// # Safety
/// As [`keydata_ref`]; OpenSSL frees each keydata once.
pub unsafe fn free_keydata(keydata: *mut c_void) {
    if !keydata.is_null() {
        // SAFETY: per the contract.
        drop(unsafe { Arc::from_raw(keydata as *const AkvKey) });
    }
}

/// Runs the keymgmt entry point `function` on the key behind `keydata`, its errors raised to
/// the key's provider instance.
///
/// # Safety
/// As [`keydata_ref`].
pub unsafe fn with_key<T: Failure>(
    function: &str,
    keydata: *const c_void,
    body: impl FnOnce(&AkvKey) -> Result<T>,
) -> T {
    // SAFETY: per the contract.
    let key = unsafe { keydata_ref(keydata) };
    error::boundary(function, key.and_then(|k| k.provider.errors()), || {
        body(key.ok_or_else(|| Error::invalid_argument(format!("{function}: no key")))?)
    })
}

/// A key as the store would make it, without a service (unit tests).
#[cfg(test)]
pub(crate) fn test_key(public: PublicKey) -> Arc<AkvKey> {
    Arc::new(new_test_key(public).unwrap())
}

#[cfg(test)]
fn new_test_key(public: PublicKey) -> Result<AkvKey> {
    let config = akv_client::Config::default();
    let id = KeyId::parse("akv:vault:myvault:k1:0123456789abcdef", config.cloud).unwrap();
    let key = Key {
        kid: id.url(),
        id,
        kty: match public {
            PublicKey::Ec { .. } => akv_client::KeyType::Ec,
            _ => akv_client::KeyType::Rsa,
        },
        public,
        key_ops: Vec::new(),
        attributes: Default::default(),
    };
    let provider = Arc::new(ProviderContext::new(None, Default::default()));
    let client = Arc::new(Client::new(config).unwrap());
    AkvKey::new(provider, client, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_init_without_a_key_keeps_the_previous_one() {
        let key = test_key(PublicKey::Rsa {
            n: vec![0xc5; 256],
            e: vec![1, 0, 1],
        });
        let keydata = into_keydata(key.clone());
        // SAFETY: a live keydata pointer, then NULL.
        let first = unsafe { key_for_init(keydata, None) }.unwrap();
        assert!(Arc::ptr_eq(&first, &key));
        let again = unsafe { key_for_init(std::ptr::null(), Some(&first)) }.unwrap();
        assert!(Arc::ptr_eq(&again, &key));
        let err = unsafe { key_for_init(std::ptr::null(), None) }
            .err()
            .unwrap();
        assert_eq!(err.message, "no key");
        // SAFETY: the reference handed out above.
        unsafe { free_keydata(keydata) };
    }

    #[test]
    fn a_missing_or_tiny_rsa_modulus_or_exponent_is_an_invalid_response() {
        for (n, e) in [
            (vec![], vec![1, 0, 1]),
            (vec![0; 256], vec![1, 0, 1]),
            (vec![0xff; 32], vec![1, 0, 1]),
            (vec![0xc5; 256], vec![]),
        ] {
            let err = new_test_key(PublicKey::Rsa { n, e }).err().unwrap();
            assert_eq!(err.reason, Reason::InvalidResponse);
            assert!(
                err.message.contains("key 'k1' in vault 'myvault'"),
                "{}",
                err.message
            );
        }
    }

    #[test]
    fn modulus_bits_ignore_leading_zero_bytes() {
        let mut n = vec![0u8; 257];
        n[1] = 0x80;
        assert_eq!(significant_bits(&n), 2048);
        assert_eq!(significant_bits(&[0x01, 0x00]), 9);
        assert_eq!(significant_bits(&[]), 0);
    }

    #[test]
    fn reference_is_not_eight_bytes_and_rejects_foreign_bytes() {
        assert_eq!(std::mem::size_of::<KeyReference>(), 16);
        let foreign = [0u8; 16];
        // SAFETY: 16 readable bytes.
        assert!(unsafe { KeyReference::resolve(foreign.as_ptr().cast(), 16) }.is_none());
        let eight = [0u8; 8];
        assert!(unsafe { KeyReference::resolve(eight.as_ptr().cast(), 8) }.is_none());
    }

    #[test]
    fn group_names_are_openssl_short_names() {
        assert_eq!(group_name(Curve::P256), "prime256v1");
        assert_eq!(group_name(Curve::P384), "secp384r1");
        assert_eq!(group_name(Curve::P521), "secp521r1");
        assert_eq!(group_name(Curve::P256K), "secp256k1");
    }
}
