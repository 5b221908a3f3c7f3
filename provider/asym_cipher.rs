//! RSA encryption with a remote key (DESIGN §6.5): decrypt remotely (`RSA1_5`, `RSA-OAEP`,
//! `RSA-OAEP-256`), encrypt locally with the public key.
//!
//! Refused: libssl's TLS padding (int 7; a remote PKCS#1 decrypt during RSA key exchange is
//! a Bleichenbacher oracle, and refusing it in `set_ctx_params` ends the handshake before
//! any remote call), OAEP labels (JWA has none), and digests the service does not pair.

use std::ffi::{c_int, c_void};
use std::sync::Arc;

use akv_client::{EncryptionAlgorithm, KeyOperation};

use crate::buffers;
use crate::context::{self, OperationCtx, ProviderContext, with_ctx};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::ffi::{self, OSSL_ALGORITHM, OSSL_DISPATCH, OSSL_PARAM, names};
use crate::key::{self, AkvKey};
use crate::local::LocalParams;
use crate::params::{IntOrString, Params, ParamsOut};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Padding {
    Pkcs1,
    Oaep,
}

#[derive(Clone)]
pub struct CipherCtx {
    provider: Arc<ProviderContext>,
    key: Option<Arc<AkvKey>>,
    padding: Padding,
    /// OAEP digest; SHA-1 when not set (OpenSSL's default).
    oaep_digest: Option<Digest>,
    /// MGF1 digest; the OAEP digest when not set.
    mgf1_digest: Option<Digest>,
}

impl CipherCtx {
    fn new(provider: Arc<ProviderContext>) -> CipherCtx {
        CipherCtx {
            provider,
            key: None,
            padding: Padding::Pkcs1,
            oaep_digest: None,
            mgf1_digest: None,
        }
    }

    fn init(&mut self, keydata: *mut c_void, params: Params) -> Result<()> {
        // SAFETY: NULL or our keymgmt's key (no import, so never a foreign one).
        let key = unsafe { key::key_for_init(keydata, self.key.as_ref()) }?;
        if !key.is_rsa() {
            return Err(Error::invalid_argument(format!(
                "{} is not an RSA key",
                key.describe()
            )));
        }
        self.key = Some(key);
        self.padding = Padding::Pkcs1;
        self.oaep_digest = None;
        self.mgf1_digest = None;
        self.set_params(params)
    }

    fn key(&self) -> Result<&Arc<AkvKey>> {
        self.key
            .as_ref()
            .ok_or_else(|| Error::invalid_argument("cipher operation not initialised"))
    }

    fn set_params(&mut self, params: Params) -> Result<()> {
        if let Some(p) = params.find(names::PAD_MODE) {
            self.padding = match p.get_int_or_str()? {
                IntOrString::Int(ffi::RSA_PKCS1_PADDING) => Padding::Pkcs1,
                IntOrString::Int(ffi::RSA_PKCS1_OAEP_PADDING) => Padding::Oaep,
                IntOrString::Str(s) if s.eq_ignore_ascii_case("pkcs1") => Padding::Pkcs1,
                IntOrString::Str(s) if s.eq_ignore_ascii_case("oaep") => Padding::Oaep,
                IntOrString::Int(ffi::RSA_PKCS1_WITH_TLS_PADDING) => {
                    return Err(Error::unsupported(
                        "RSA key exchange (TLS padding) is refused for keys in Azure Key Vault: \
                         a remote PKCS#1 decryption there would be a padding oracle; use ECDHE \
                         cipher suites",
                    ));
                }
                other => {
                    return Err(Error::unsupported(format!(
                        "RSA padding mode {} is not supported: Azure Key Vault decrypts with \
                         pkcs1 (RSA1_5) or oaep (RSA-OAEP, RSA-OAEP-256)",
                        match other {
                            IntOrString::Str(s) => format!("'{s}'"),
                            IntOrString::Int(n) => n.to_string(),
                        }
                    )));
                }
            };
        }
        if let Some(p) = params.find(names::OAEP_DIGEST) {
            self.oaep_digest = Some(parse_oaep_digest(&p.get_str()?)?);
        }
        if let Some(p) = params.find(names::MGF1_DIGEST) {
            self.mgf1_digest = Some(parse_oaep_digest(&p.get_str()?)?);
        }
        if let Some(p) = params.find(names::OAEP_LABEL) {
            if !p.get_octets()?.is_empty() {
                return Err(Error::unsupported(
                    "OAEP labels are not supported by Azure Key Vault",
                ));
            }
        }
        // tls-client-version / tls-negotiated-version only matter with TLS padding, which is
        // refused above; properties are irrelevant to us.
        Ok(())
    }

    fn oaep_digests(&self) -> (Digest, Digest) {
        let oaep = self.oaep_digest.unwrap_or(Digest::Sha1);
        (oaep, self.mgf1_digest.unwrap_or(oaep))
    }

    fn algorithm(&self) -> Result<EncryptionAlgorithm> {
        match self.padding {
            Padding::Pkcs1 => Ok(EncryptionAlgorithm::Rsa1_5),
            Padding::Oaep => match self.oaep_digests() {
                (Digest::Sha1, Digest::Sha1) => Ok(EncryptionAlgorithm::RsaOaep),
                (Digest::Sha256, Digest::Sha256) => Ok(EncryptionAlgorithm::RsaOaep256),
                (oaep, mgf1) => Err(Error::unsupported(format!(
                    "OAEP with {} and MGF1 {} is not supported: Azure Key Vault offers RSA-OAEP \
                     (SHA-1) and RSA-OAEP-256 (SHA-256, MGF1 SHA-256)",
                    oaep.name_str(),
                    mgf1.name_str()
                ))),
            },
        }
    }

    fn decrypt(&self, ciphertext: &[u8]) -> Result<Vec<u8>> {
        let key = self.key()?;
        let alg = self.algorithm()?;
        key.check_operation(KeyOperation::Decrypt)?;
        key.client
            .decrypt(key.id(), alg, ciphertext)
            .map_err(|e| Error::from_client("decrypt", key.id(), &e))
    }

    fn encrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>> {
        let key = self.key()?;
        // The same refusals as decrypt, so what we encrypt can be decrypted by the service.
        self.algorithm()?;
        let params = match self.padding {
            Padding::Pkcs1 => LocalParams {
                pad_mode: Some("pkcs1"),
                ..LocalParams::default()
            },
            Padding::Oaep => {
                let (oaep, mgf1) = self.oaep_digests();
                LocalParams {
                    pad_mode: Some("oaep"),
                    digest: Some(oaep),
                    mgf1_digest: Some(mgf1),
                    ..LocalParams::default()
                }
            }
        };
        let _mark = crate::local::ErrorMark::set();
        key.local_key()?.encrypt(&params, plaintext)
    }

    fn get_params(&self, out: ParamsOut) -> Result<()> {
        let (int, text) = match self.padding {
            Padding::Pkcs1 => (ffi::RSA_PKCS1_PADDING, "pkcs1"),
            Padding::Oaep => (ffi::RSA_PKCS1_OAEP_PADDING, "oaep"),
        };
        out.set_int_or_string(names::PAD_MODE, int, text)?;
        let (oaep, mgf1) = self.oaep_digests();
        out.set_str(names::OAEP_DIGEST, oaep.name())?;
        out.set_str(names::MGF1_DIGEST, mgf1.name())?;
        out.set_octets(names::OAEP_LABEL, &[])?;
        Ok(())
    }
}

fn parse_oaep_digest(name: &str) -> Result<Digest> {
    match Digest::parse(name) {
        Ok(d @ (Digest::Sha1 | Digest::Sha256)) => Ok(d),
        _ => Err(Error::unsupported(format!(
            "OAEP digest '{name}' is not supported: Azure Key Vault offers RSA-OAEP (SHA-1) and \
             RSA-OAEP-256 (SHA-256)"
        ))),
    }
}

// ---------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------

impl OperationCtx for CipherCtx {
    const WHAT: &'static str = "asym cipher context";

    fn provider(&self) -> &ProviderContext {
        &self.provider
    }
}

unsafe extern "C" fn cipher_newctx(provctx: *mut c_void) -> *mut c_void {
    // SAFETY: OpenSSL passes our provctx.
    unsafe { context::new_ctx("asym_cipher_newctx", provctx, |p| Ok(CipherCtx::new(p))) }
}

unsafe extern "C" fn cipher_freectx(ctx: *mut c_void) {
    // SAFETY: a context from newctx/dupctx, freed once.
    unsafe { context::free_ctx::<CipherCtx>("asym_cipher_freectx", ctx) }
}

unsafe extern "C" fn cipher_dupctx(ctx: *mut c_void) -> *mut c_void {
    // SAFETY: a live context.
    unsafe {
        with_ctx("asym_cipher_dupctx", ctx, |c: &mut CipherCtx| {
            Ok(c.clone().into_raw())
        })
    }
}

unsafe extern "C" fn cipher_init(
    ctx: *mut c_void,
    provkey: *mut c_void,
    params: *const OSSL_PARAM,
) -> c_int {
    // SAFETY: a live context; our keymgmt's key; `params` NULL or END-terminated.
    unsafe {
        with_ctx("asym_cipher_init", ctx, |c: &mut CipherCtx| {
            c.init(provkey, Params::new(params))?;
            Ok(1)
        })
    }
}

/// Encrypt and decrypt: the size query (the modulus size, no call) or `op` on the input.
///
/// # Safety
/// A live context; OpenSSL's buffers as OSSL_FUNC_asym_cipher_encrypt/decrypt document.
unsafe fn run(
    function: &str,
    ctx: *mut c_void,
    (out, outlen, outsize): (*mut u8, *mut usize, usize),
    (input, inlen): (*const u8, usize),
    op: fn(&CipherCtx, &[u8]) -> Result<Vec<u8>>,
) -> c_int {
    // SAFETY: per the contract.
    unsafe {
        with_ctx(function, ctx, |c: &mut CipherCtx| {
            let modulus_len = c.key()?.max_signature_size();
            let input = buffers::input(input, inlen);
            buffers::output(out, outlen, outsize, modulus_len, || op(c, input))
        })
    }
}

unsafe extern "C" fn cipher_encrypt(
    ctx: *mut c_void,
    out: *mut u8,
    outlen: *mut usize,
    outsize: usize,
    input: *const u8,
    inlen: usize,
) -> c_int {
    // SAFETY: OpenSSL's arguments, as `run` requires.
    unsafe {
        run(
            "asym_cipher_encrypt",
            ctx,
            (out, outlen, outsize),
            (input, inlen),
            CipherCtx::encrypt,
        )
    }
}

unsafe extern "C" fn cipher_decrypt(
    ctx: *mut c_void,
    out: *mut u8,
    outlen: *mut usize,
    outsize: usize,
    input: *const u8,
    inlen: usize,
) -> c_int {
    // SAFETY: OpenSSL's arguments, as `run` requires.
    unsafe {
        run(
            "asym_cipher_decrypt",
            ctx,
            (out, outlen, outsize),
            (input, inlen),
            CipherCtx::decrypt,
        )
    }
}

unsafe extern "C" fn cipher_set_ctx_params(ctx: *mut c_void, params: *const OSSL_PARAM) -> c_int {
    // SAFETY: a live context; `params` NULL or END-terminated.
    unsafe {
        with_ctx("asym_cipher_set_ctx_params", ctx, |c: &mut CipherCtx| {
            c.set_params(Params::new(params))?;
            Ok(1)
        })
    }
}

unsafe extern "C" fn cipher_get_ctx_params(ctx: *mut c_void, params: *mut OSSL_PARAM) -> c_int {
    // SAFETY: a live context; a writable END-terminated array.
    unsafe {
        with_ctx("asym_cipher_get_ctx_params", ctx, |c: &mut CipherCtx| {
            c.get_params(ParamsOut::new(params))?;
            Ok(1)
        })
    }
}

static SETTABLE_CTX_PARAMS: [OSSL_PARAM; 9] = [
    OSSL_PARAM::describe(names::PAD_MODE, ffi::OSSL_PARAM_UTF8_STRING),
    OSSL_PARAM::describe(names::OAEP_DIGEST, ffi::OSSL_PARAM_UTF8_STRING),
    OSSL_PARAM::describe(names::OAEP_DIGEST_PROPS, ffi::OSSL_PARAM_UTF8_STRING),
    OSSL_PARAM::describe(names::MGF1_DIGEST, ffi::OSSL_PARAM_UTF8_STRING),
    OSSL_PARAM::describe(names::MGF1_PROPERTIES, ffi::OSSL_PARAM_UTF8_STRING),
    OSSL_PARAM::describe(names::OAEP_LABEL, ffi::OSSL_PARAM_OCTET_STRING),
    OSSL_PARAM::describe(names::TLS_CLIENT_VERSION, ffi::OSSL_PARAM_UNSIGNED_INTEGER),
    OSSL_PARAM::describe(
        names::TLS_NEGOTIATED_VERSION,
        ffi::OSSL_PARAM_UNSIGNED_INTEGER,
    ),
    OSSL_PARAM::END,
];

static GETTABLE_CTX_PARAMS: [OSSL_PARAM; 5] = [
    OSSL_PARAM::describe(names::PAD_MODE, ffi::OSSL_PARAM_UTF8_STRING),
    OSSL_PARAM::describe(names::OAEP_DIGEST, ffi::OSSL_PARAM_UTF8_STRING),
    OSSL_PARAM::describe(names::MGF1_DIGEST, ffi::OSSL_PARAM_UTF8_STRING),
    OSSL_PARAM::describe(names::OAEP_LABEL, ffi::OSSL_PARAM_OCTET_STRING),
    OSSL_PARAM::END,
];

unsafe extern "C" fn cipher_settable_ctx_params(
    _ctx: *mut c_void,
    _provctx: *mut c_void,
) -> *const OSSL_PARAM {
    SETTABLE_CTX_PARAMS.as_ptr()
}

unsafe extern "C" fn cipher_gettable_ctx_params(
    _ctx: *mut c_void,
    _provctx: *mut c_void,
) -> *const OSSL_PARAM {
    GETTABLE_CTX_PARAMS.as_ptr()
}

pub static RSA_DISPATCH: [OSSL_DISPATCH; 12] = [
    ffi::dispatch_asym_cipher_newctx(cipher_newctx),
    ffi::dispatch_asym_cipher_freectx(cipher_freectx),
    ffi::dispatch_asym_cipher_dupctx(cipher_dupctx),
    ffi::dispatch_asym_cipher_encrypt_init(cipher_init),
    ffi::dispatch_asym_cipher_encrypt(cipher_encrypt),
    ffi::dispatch_asym_cipher_decrypt_init(cipher_init),
    ffi::dispatch_asym_cipher_decrypt(cipher_decrypt),
    ffi::dispatch_asym_cipher_set_ctx_params(cipher_set_ctx_params),
    ffi::dispatch_asym_cipher_settable_ctx_params(cipher_settable_ctx_params),
    ffi::dispatch_asym_cipher_get_ctx_params(cipher_get_ctx_params),
    ffi::dispatch_asym_cipher_gettable_ctx_params(cipher_gettable_ctx_params),
    OSSL_DISPATCH::END,
];

pub static ALGORITHMS: [OSSL_ALGORITHM; 2] = [
    OSSL_ALGORITHM::new(c"RSA:rsaEncryption:1.2.840.113549.1.1.1", &RSA_DISPATCH),
    OSSL_ALGORITHM::END,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::ParamBuilder;

    fn ctx() -> CipherCtx {
        CipherCtx::new(Arc::new(ProviderContext::new(None, Default::default())))
    }

    fn apply(ctx: &mut CipherCtx, mut params: ParamBuilder) -> Result<()> {
        let ptr = params.build();
        // SAFETY: the builder keeps the array alive for the call.
        ctx.set_params(unsafe { Params::new(ptr) })
    }

    #[test]
    fn paddings_map_to_the_service_algorithms() {
        let mut c = ctx();
        assert_eq!(c.algorithm().unwrap(), EncryptionAlgorithm::Rsa1_5);
        apply(&mut c, ParamBuilder::new().int(names::PAD_MODE, 4)).unwrap();
        assert_eq!(c.algorithm().unwrap(), EncryptionAlgorithm::RsaOaep);
        apply(
            &mut c,
            ParamBuilder::new().utf8(names::OAEP_DIGEST, "SHA256"),
        )
        .unwrap();
        assert_eq!(c.algorithm().unwrap(), EncryptionAlgorithm::RsaOaep256);
        apply(&mut c, ParamBuilder::new().utf8(names::MGF1_DIGEST, "SHA1")).unwrap();
        assert!(
            c.algorithm().is_err(),
            "OAEP SHA-256 with MGF1 SHA-1 has no service algorithm"
        );
    }

    #[test]
    fn tls_padding_labels_and_other_digests_are_refused() {
        let mut c = ctx();
        let err = apply(&mut c, ParamBuilder::new().int(names::PAD_MODE, 7)).unwrap_err();
        assert!(err.message.contains("padding oracle"), "{}", err.message);
        let err = apply(&mut c, ParamBuilder::new().octets(names::OAEP_LABEL, b"l")).unwrap_err();
        assert!(err.message.contains("labels"));
        apply(&mut c, ParamBuilder::new().octets(names::OAEP_LABEL, b"")).unwrap();
        let err = apply(
            &mut c,
            ParamBuilder::new().utf8(names::OAEP_DIGEST, "SHA512"),
        )
        .unwrap_err();
        assert!(err.message.contains("'SHA512'"));
    }
}
