//! Local crypto through libcrypto: hashing, verify and encrypt with the public key.
//!
//! DESIGN §6.6: nothing the provider asks libcrypto for may resolve to the provider itself.
//! All of it runs in a private library context (`OSSL_LIB_CTX_new`, not a child of the
//! application's) into which only the built-in `default` provider is loaded, and every fetch
//! also says `provider=default`. akv can never be found there, whatever the application
//! has loaded, and it works with `-provider akv` alone. Created on first use (never during
//! init), freed with the provider context.

use std::ffi::{CStr, c_uint};
use std::sync::Arc;

use crate::digest::Digest;
use crate::error::{Error, Reason, Result};
use crate::ffi::{self, EVP_MD, EVP_MD_CTX, EVP_PKEY, OSSL_LIB_CTX, OSSL_PROVIDER};
use crate::params::ParamBuilder;

const PROPQ: &CStr = c"provider=default";

pub struct LocalCrypto {
    libctx: *mut OSSL_LIB_CTX,
    default_provider: *mut OSSL_PROVIDER,
    /// SHA1, SHA256, SHA384, SHA512, fetched once.
    digests: [*mut EVP_MD; 4],
}

// SAFETY: libcrypto's library contexts, providers and fetched EVP_MDs are thread-safe,
// reference-counted objects; we only read through these pointers until Drop.
unsafe impl Send for LocalCrypto {}
unsafe impl Sync for LocalCrypto {}

#[track_caller]
fn local_error(what: &str) -> Error {
    Error::new(Reason::LocalCrypto, what.to_string())
}

impl LocalCrypto {
    pub fn new() -> Result<LocalCrypto> {
        // SAFETY: plain constructors; every result is checked and freed in Drop.
        unsafe {
            let libctx = ffi::OSSL_LIB_CTX_new();
            if libctx.is_null() {
                return Err(local_error("cannot create a library context"));
            }
            let mut local = LocalCrypto {
                libctx,
                default_provider: std::ptr::null_mut(),
                digests: [std::ptr::null_mut(); 4],
            };
            local.default_provider = ffi::OSSL_PROVIDER_load(libctx, c"default".as_ptr());
            if local.default_provider.is_null() {
                return Err(local_error(
                    "cannot load OpenSSL's default provider for local hashing and verification",
                ));
            }
            for (slot, d) in local.digests.iter_mut().zip([
                Digest::Sha1,
                Digest::Sha256,
                Digest::Sha384,
                Digest::Sha512,
            ]) {
                *slot = ffi::EVP_MD_fetch(libctx, d.name().as_ptr(), PROPQ.as_ptr());
                if slot.is_null() {
                    return Err(local_error(&format!("cannot fetch {}", d.name_str())));
                }
            }
            Ok(local)
        }
    }

    fn md(&self, digest: Digest) -> *mut EVP_MD {
        match digest {
            Digest::Sha1 => self.digests[0],
            Digest::Sha256 => self.digests[1],
            Digest::Sha384 => self.digests[2],
            Digest::Sha512 => self.digests[3],
        }
    }

    pub fn hasher(self: &Arc<Self>, digest: Digest) -> Result<Hasher> {
        // SAFETY: a fresh context initialised with a digest fetched from our own libctx.
        unsafe {
            let ctx = ffi::EVP_MD_CTX_new();
            if ctx.is_null() {
                return Err(local_error("cannot allocate a digest context"));
            }
            let hasher = Hasher {
                ctx,
                digest,
                _local: self.clone(),
            };
            if ffi::EVP_DigestInit_ex2(ctx, self.md(digest), std::ptr::null()) != 1 {
                return Err(local_error(&format!("cannot start {}", digest.name_str())));
            }
            Ok(hasher)
        }
    }

    /// A default-provider EVP_PKEY holding only the public half, built with
    /// `EVP_PKEY_fromdata`.
    pub fn public_key(self: &Arc<Self>, public: &akv_client::PublicKey) -> Result<LocalKey> {
        let (alg, mut params) = match public {
            akv_client::PublicKey::Rsa { n, e } => (
                c"RSA",
                ParamBuilder::new()
                    .biguint(ffi::names::PKEY_RSA_N, n)
                    .biguint(ffi::names::PKEY_RSA_E, e),
            ),
            akv_client::PublicKey::Ec { curve, x, y } => (
                c"EC",
                ParamBuilder::new()
                    .utf8(ffi::names::PKEY_GROUP_NAME, crate::key::group_name(*curve))
                    .octets(ffi::names::PKEY_PUB_KEY, &crate::key::ec_point(x, y)),
            ),
            akv_client::PublicKey::Symmetric => {
                return Err(Error::unsupported("symmetric keys have no public key"));
            }
        };
        // SAFETY: standard EVP_PKEY_fromdata sequence on our own libctx; `params` outlives the
        // call; every object is freed on every path.
        unsafe {
            let ctx = ffi::EVP_PKEY_CTX_new_from_name(self.libctx, alg.as_ptr(), PROPQ.as_ptr());
            if ctx.is_null() {
                return Err(local_error("cannot create a key context"));
            }
            let mut pkey: *mut EVP_PKEY = std::ptr::null_mut();
            let ok = ffi::EVP_PKEY_fromdata_init(ctx) == 1
                && ffi::EVP_PKEY_fromdata(ctx, &mut pkey, ffi::EVP_PKEY_PUBLIC_KEY, params.build())
                    == 1;
            ffi::EVP_PKEY_CTX_free(ctx);
            if !ok || pkey.is_null() {
                return Err(local_error(
                    "the public key returned by the service is not a valid key",
                ));
            }
            Ok(LocalKey {
                pkey,
                local: self.clone(),
            })
        }
    }
}

impl Drop for LocalCrypto {
    fn drop(&mut self) {
        // SAFETY: we own one reference to each object; no other user remains (every Hasher and
        // LocalKey holds an Arc to us).
        unsafe {
            for md in self.digests {
                if !md.is_null() {
                    ffi::EVP_MD_free(md);
                }
            }
            if !self.default_provider.is_null() {
                ffi::OSSL_PROVIDER_unload(self.default_provider);
            }
            ffi::OSSL_LIB_CTX_free(self.libctx);
        }
    }
}

/// A running hash. `Clone` copies the state (what `dupctx` needs).
pub struct Hasher {
    ctx: *mut EVP_MD_CTX,
    digest: Digest,
    _local: Arc<LocalCrypto>,
}

// SAFETY: an EVP_MD_CTX is owned exclusively by this value.
unsafe impl Send for Hasher {}

impl Hasher {
    pub fn digest(&self) -> Digest {
        self.digest
    }

    pub fn update(&mut self, data: &[u8]) -> Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        // SAFETY: `ctx` is an initialised digest context; `data` is a valid slice.
        if unsafe { ffi::EVP_DigestUpdate(self.ctx, data.as_ptr().cast(), data.len()) } != 1 {
            return Err(local_error("hashing failed"));
        }
        Ok(())
    }

    /// The digest of everything hashed so far; the hasher itself keeps running (a copy is
    /// finalised), so `EVP_DigestSignFinal` may be called more than once.
    pub fn finish(&self) -> Result<Vec<u8>> {
        let copy = self.try_clone()?;
        let mut out = vec![0u8; 64];
        let mut len: c_uint = 0;
        // SAFETY: `out` has room for the largest digest (64 bytes).
        if unsafe { ffi::EVP_DigestFinal_ex(copy.ctx, out.as_mut_ptr(), &mut len) } != 1 {
            return Err(local_error("hashing failed"));
        }
        out.truncate(len as usize);
        Ok(out)
    }

    pub fn try_clone(&self) -> Result<Hasher> {
        // SAFETY: copying one initialised context into a fresh one.
        unsafe {
            let ctx = ffi::EVP_MD_CTX_new();
            if ctx.is_null() {
                return Err(local_error("cannot allocate a digest context"));
            }
            let copy = Hasher {
                ctx,
                digest: self.digest,
                _local: self._local.clone(),
            };
            if ffi::EVP_MD_CTX_copy_ex(ctx, self.ctx) != 1 {
                return Err(local_error("cannot copy a digest context"));
            }
            Ok(copy)
        }
    }
}

impl Drop for Hasher {
    fn drop(&mut self) {
        // SAFETY: we own the context.
        unsafe { ffi::EVP_MD_CTX_free(self.ctx) };
    }
}

/// How to verify or encrypt locally: the parameters handed to the default provider.
#[derive(Clone, Debug, Default)]
pub struct LocalParams {
    pub pad_mode: Option<&'static str>,
    pub digest: Option<Digest>,
    pub mgf1_digest: Option<Digest>,
    pub pss_saltlen: Option<String>,
}

impl LocalParams {
    fn build(&self, for_cipher: bool) -> ParamBuilder {
        let mut b = ParamBuilder::new();
        if let Some(pad) = self.pad_mode {
            b = b.utf8(ffi::names::PAD_MODE, pad);
        }
        if let Some(d) = self.digest {
            let key = if for_cipher {
                ffi::names::OAEP_DIGEST
            } else {
                ffi::names::DIGEST
            };
            b = b.utf8(key, d.name_str());
        }
        if let Some(d) = self.mgf1_digest {
            b = b.utf8(ffi::names::MGF1_DIGEST, d.name_str());
        }
        if let Some(s) = &self.pss_saltlen {
            b = b.utf8(ffi::names::PSS_SALTLEN, s);
        }
        b
    }
}

/// The public half as a default-provider key.
pub struct LocalKey {
    pkey: *mut EVP_PKEY,
    local: Arc<LocalCrypto>,
}

// SAFETY: an EVP_PKEY is reference-counted and safe to use from several threads for
// verify/encrypt (each operation gets its own EVP_PKEY_CTX).
unsafe impl Send for LocalKey {}
unsafe impl Sync for LocalKey {}

impl LocalKey {
    /// `Ok(true)` for a valid signature over `digest`, `Ok(false)` for an invalid one.
    pub fn verify(&self, params: &LocalParams, digest: &[u8], signature: &[u8]) -> Result<bool> {
        let mut p = params.build(false);
        // SAFETY: a fresh operation context on our key in our libctx, freed on every path.
        unsafe {
            let ctx = ffi::EVP_PKEY_CTX_new_from_pkey(self.local.libctx, self.pkey, PROPQ.as_ptr());
            if ctx.is_null() {
                return Err(local_error("cannot create a verify context"));
            }
            let init = ffi::EVP_PKEY_verify_init_ex(ctx, p.build());
            let rc = if init == 1 {
                ffi::EVP_PKEY_verify(
                    ctx,
                    signature.as_ptr(),
                    signature.len(),
                    digest.as_ptr(),
                    digest.len(),
                )
            } else {
                -1
            };
            ffi::EVP_PKEY_CTX_free(ctx);
            match rc {
                1 => Ok(true),
                0 => Ok(false),
                _ if init != 1 => Err(local_error("cannot set up local verification")),
                // A malformed signature (e.g. bad DER) is simply not valid.
                _ => Ok(false),
            }
        }
    }

    pub fn encrypt(&self, params: &LocalParams, plaintext: &[u8]) -> Result<Vec<u8>> {
        let mut p = params.build(true);
        // SAFETY: as in verify; `out` is sized by the size query before the real call.
        unsafe {
            let ctx = ffi::EVP_PKEY_CTX_new_from_pkey(self.local.libctx, self.pkey, PROPQ.as_ptr());
            if ctx.is_null() {
                return Err(local_error("cannot create an encrypt context"));
            }
            let mut outlen: usize = 0;
            let mut ok = ffi::EVP_PKEY_encrypt_init_ex(ctx, p.build()) == 1
                && ffi::EVP_PKEY_encrypt(
                    ctx,
                    std::ptr::null_mut(),
                    &mut outlen,
                    plaintext.as_ptr(),
                    plaintext.len(),
                ) == 1;
            let mut out = vec![0u8; outlen];
            if ok {
                ok = ffi::EVP_PKEY_encrypt(
                    ctx,
                    out.as_mut_ptr(),
                    &mut outlen,
                    plaintext.as_ptr(),
                    plaintext.len(),
                ) == 1;
            }
            ffi::EVP_PKEY_CTX_free(ctx);
            if !ok {
                return Err(local_error(
                    "local RSA encryption failed (is the input too long for the key and padding?)",
                ));
            }
            out.truncate(outlen);
            Ok(out)
        }
    }
}

impl Drop for LocalKey {
    fn drop(&mut self) {
        // SAFETY: we own one reference to the key.
        unsafe { ffi::EVP_PKEY_free(self.pkey) };
    }
}

/// Keeps libcrypto errors from a local operation that we report ourselves off the queue.
pub struct ErrorMark;

impl ErrorMark {
    pub fn set() -> ErrorMark {
        // SAFETY: plain error-queue call on the current thread.
        unsafe { ffi::ERR_set_mark() };
        ErrorMark
    }
}

impl Drop for ErrorMark {
    fn drop(&mut self) {
        // SAFETY: pops to the mark set in `set` on this thread.
        unsafe { ffi::ERR_pop_to_mark() };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashing_matches_known_sha256_and_clones_keep_state() {
        let local = Arc::new(LocalCrypto::new().unwrap());
        let mut h = local.hasher(Digest::Sha256).unwrap();
        h.update(b"ab").unwrap();
        let mut copy = h.try_clone().unwrap();
        h.update(b"c").unwrap();
        copy.update(b"c").unwrap();
        let expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let hex = |v: Vec<u8>| v.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(hex(h.finish().unwrap()), expected);
        assert_eq!(hex(copy.finish().unwrap()), expected);
        // finish does not consume the running state
        assert_eq!(hex(h.finish().unwrap()), expected);
    }

    unsafe extern "C" {
        fn EVP_PKEY_get_security_bits(pkey: *const EVP_PKEY) -> std::ffi::c_int;
    }

    /// `key::rsa_security_bits` against the default provider's own answer for public keys of
    /// every modulus size from 8 to 16400 bits.
    #[test]
    fn rsa_security_bits_match_the_default_provider_for_every_size() {
        let local = Arc::new(LocalCrypto::new().unwrap());
        for bits in 8u32..=16400 {
            let mut n = vec![0u8; bits.div_ceil(8) as usize];
            n[0] = 1 << ((bits - 1) % 8);
            *n.last_mut().unwrap() |= 1;
            let public = akv_client::PublicKey::Rsa {
                n,
                e: vec![1, 0, 1],
            };
            let key = local.public_key(&public).unwrap();
            // SAFETY: a live key.
            let expected = unsafe { EVP_PKEY_get_security_bits(key.pkey) };
            assert_eq!(
                crate::key::rsa_security_bits(bits) as i32,
                expected,
                "{bits}-bit modulus"
            );
        }
    }

    #[test]
    fn public_key_rejects_garbage_ec_points() {
        let local = Arc::new(LocalCrypto::new().unwrap());
        let bad = akv_client::PublicKey::Ec {
            curve: akv_client::Curve::P256,
            x: vec![1; 32],
            y: vec![2; 32],
        };
        assert!(local.public_key(&bad).is_err());
    }
}
