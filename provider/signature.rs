//! Signatures with a remote key (DESIGN §6.4): RSA PKCS#1 v1.5 and PSS, ECDSA.
//!
//! Hash locally, one REST call in `sign`/`digest_sign_final`, verify locally. Nothing in an
//! `*_init` touches the network (libssl inits every candidate sigalg); unsupported
//! combinations are refused where they arrive, so libssl skips them.

use std::ffi::{CStr, c_char, c_int, c_void};
use std::sync::Arc;

use akv_client::{KeyOperation, SignatureAlgorithm};

use crate::buffers;
use crate::context::{self, OperationCtx, ProviderContext, with_ctx};
use crate::der;
use crate::digest::Digest;
use crate::error::{Error, Reason, Result};
use crate::ffi::{self, OSSL_ALGORITHM, OSSL_DISPATCH, OSSL_PARAM, names};
use crate::key::{self, AkvKey, KeyKind, curve_digest};
use crate::local::{Hasher, LocalParams};
use crate::params::{IntOrString, Params, ParamsOut};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    Rsa,
    Ecdsa,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Padding {
    Pkcs1,
    Pss,
}

/// The PSS salt length asked for. The service always uses the digest length.
#[derive(Clone, Debug, PartialEq, Eq)]
enum SaltLen {
    /// "auto" (OpenSSL 3.0's default for a new context) and "auto-digestmax".
    Auto,
    Digest,
    Max,
    Bytes(c_int),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operation {
    Sign,
    Verify,
}

pub struct SignatureCtx {
    provider: Arc<ProviderContext>,
    family: Family,
    key: Option<Arc<AkvKey>>,
    operation: Option<Operation>,
    digest: Option<Digest>,
    padding: Padding,
    mgf1: Option<Digest>,
    saltlen: SaltLen,
    /// Running hash of a digest-sign / digest-verify operation.
    hasher: Option<Hasher>,
}

impl SignatureCtx {
    fn new(provider: Arc<ProviderContext>, family: Family) -> SignatureCtx {
        SignatureCtx {
            provider,
            family,
            key: None,
            operation: None,
            digest: None,
            padding: Padding::Pkcs1,
            mgf1: None,
            saltlen: SaltLen::Auto,
            hasher: None,
        }
    }

    fn try_clone(&self) -> Result<SignatureCtx> {
        Ok(SignatureCtx {
            provider: self.provider.clone(),
            family: self.family,
            key: self.key.clone(),
            operation: self.operation,
            digest: self.digest,
            padding: self.padding,
            mgf1: self.mgf1,
            saltlen: self.saltlen.clone(),
            hasher: match &self.hasher {
                Some(h) => Some(h.try_clone()?),
                None => None,
            },
        })
    }

    fn key(&self) -> Result<&Arc<AkvKey>> {
        self.key
            .as_ref()
            .ok_or_else(|| Error::invalid_argument("signature operation not initialised"))
    }

    fn hasher_mut(&mut self) -> Result<&mut Hasher> {
        self.hasher
            .as_mut()
            .ok_or_else(|| Error::invalid_argument("digest-sign/verify operation not initialised"))
    }

    /// The digest and the hash of everything a digest-sign/verify operation was given so far
    /// (the running hash keeps going: `final` may be called again).
    fn running_hash(&self) -> Result<(Digest, Vec<u8>)> {
        let hasher = self.hasher.as_ref().ok_or_else(|| {
            Error::invalid_argument("digest-sign/verify operation not initialised")
        })?;
        Ok((hasher.digest(), hasher.finish()?))
    }

    /// Sign/verify init and digest-sign/verify init: no network here.
    fn init(
        &mut self,
        keydata: *mut c_void,
        operation: Operation,
        mdname: Option<String>,
        streaming: bool,
        params: Params,
    ) -> Result<()> {
        // SAFETY: `keydata` is NULL or our keymgmt's key (EVP pairs a signature with its
        // provider's keymgmt; we have no import, so no foreign key can reach us).
        let key = unsafe { key::key_for_init(keydata, self.key.as_ref()) }?;
        match (self.family, key.kind) {
            (Family::Rsa, KeyKind::Rsa { .. }) | (Family::Ecdsa, KeyKind::Ec { .. }) => {}
            _ => {
                return Err(Error::invalid_argument(format!(
                    "{} cannot be used for {}",
                    key.describe(),
                    if self.family == Family::Rsa {
                        "RSA signatures"
                    } else {
                        "ECDSA"
                    }
                )));
            }
        }
        let default_digest = key.default_digest();
        self.key = Some(key);
        self.operation = Some(operation);
        self.digest = None;
        self.padding = Padding::Pkcs1;
        self.mgf1 = None;
        self.saltlen = SaltLen::Auto;
        self.hasher = None;
        if streaming {
            match mdname {
                Some(name) => self.set_digest(&name)?,
                None => self.digest = Some(default_digest),
            }
            let digest = self.digest.unwrap_or(default_digest);
            self.hasher = Some(self.provider.local()?.hasher(digest)?);
        }
        self.set_params(params)
    }

    fn set_digest(&mut self, name: &str) -> Result<()> {
        let digest = match self.operation {
            Some(Operation::Verify) => Digest::parse(name)
                .map_err(|n| Error::unsupported(format!("unsupported digest '{n}'")))?,
            _ => Digest::parse_for_signature(name)?,
        };
        if let (Some(Operation::Sign), Some(key)) = (self.operation, &self.key) {
            if let KeyKind::Ec { curve } = key.kind {
                let expected = curve_digest(curve);
                if digest != expected {
                    return Err(Error::unsupported(format!(
                        "{} is on curve {}: the service signs it only with {} ({}), not {}",
                        key.describe(),
                        curve.jwk_name(),
                        expected.name_str(),
                        curve.signature_algorithm().as_str(),
                        digest.name_str()
                    )));
                }
            }
        }
        if let Some(h) = &self.hasher {
            if h.digest() != digest {
                return Err(Error::invalid_argument(format!(
                    "the digest cannot change from {} to {} during a digest-sign operation",
                    h.digest().name_str(),
                    digest.name_str()
                )));
            }
        }
        self.digest = Some(digest);
        Ok(())
    }

    fn set_params(&mut self, params: Params) -> Result<()> {
        if let Some(p) = params.find(names::DIGEST) {
            self.set_digest(&p.get_str()?)?;
        }
        if self.family == Family::Rsa {
            if let Some(p) = params.find(names::PAD_MODE) {
                self.padding = match p.get_int_or_str()? {
                    IntOrString::Int(ffi::RSA_PKCS1_PADDING) => Padding::Pkcs1,
                    IntOrString::Int(ffi::RSA_PKCS1_PSS_PADDING) => Padding::Pss,
                    IntOrString::Str(s) if s.eq_ignore_ascii_case("pkcs1") => Padding::Pkcs1,
                    IntOrString::Str(s) if s.eq_ignore_ascii_case("pss") => Padding::Pss,
                    other => {
                        return Err(Error::unsupported(format!(
                            "RSA padding mode {} is not supported for signatures: Azure Key \
                             Vault signs with pkcs1 or pss",
                            pad_mode_name(&other)
                        )));
                    }
                };
            }
            if let Some(p) = params.find(names::PSS_SALTLEN) {
                self.saltlen = match p.get_int_or_str()? {
                    IntOrString::Int(ffi::RSA_PSS_SALTLEN_DIGEST) => SaltLen::Digest,
                    IntOrString::Int(ffi::RSA_PSS_SALTLEN_AUTO)
                    | IntOrString::Int(ffi::RSA_PSS_SALTLEN_AUTO_DIGEST_MAX) => SaltLen::Auto,
                    IntOrString::Int(ffi::RSA_PSS_SALTLEN_MAX) => SaltLen::Max,
                    IntOrString::Int(n) if n >= 0 => SaltLen::Bytes(n),
                    IntOrString::Str(s) => match s.to_ascii_lowercase().as_str() {
                        "digest" => SaltLen::Digest,
                        "auto" | "auto-digestmax" => SaltLen::Auto,
                        "max" => SaltLen::Max,
                        n => match n.parse::<c_int>() {
                            Ok(n) if n >= 0 => SaltLen::Bytes(n),
                            _ => {
                                return Err(Error::invalid_argument(format!(
                                    "invalid PSS salt length '{s}'"
                                )));
                            }
                        },
                    },
                    IntOrString::Int(n) => {
                        return Err(Error::invalid_argument(format!(
                            "invalid PSS salt length {n}"
                        )));
                    }
                };
            }
            if let Some(p) = params.find(names::MGF1_DIGEST) {
                let name = p.get_str()?;
                self.mgf1 =
                    Some(Digest::parse(&name).map_err(|n| {
                        Error::unsupported(format!("unsupported MGF1 digest '{n}'"))
                    })?);
            }
        }
        if self.operation == Some(Operation::Sign) {
            self.check_sign_parameters(self.digest)?;
        }
        Ok(())
    }

    /// What the service can sign with `digest` (the one set, or for `EVP_PKEY_sign` without
    /// one, the one the input's length gives): PSS with salt = digest length and MGF1 = the
    /// digest. With no digest known yet, only what no digest can make right is refused.
    fn check_sign_parameters(&self, digest: Option<Digest>) -> Result<()> {
        if self.family != Family::Rsa || self.padding != Padding::Pss {
            return Ok(());
        }
        match (&self.saltlen, digest) {
            (SaltLen::Max, _) => {
                return Err(Error::unsupported(
                    "PSS salt length 'max' is not supported: Azure Key Vault signs PSS with a \
                     salt as long as the digest (use rsa_pss_saltlen:digest)",
                ));
            }
            (SaltLen::Bytes(n), Some(d)) if *n as usize != d.size() => {
                return Err(Error::unsupported(format!(
                    "PSS salt length {n} is not supported: Azure Key Vault signs PSS with a salt \
                     as long as the digest ({} bytes for {})",
                    d.size(),
                    d.name_str()
                )));
            }
            _ => {}
        }
        if let (Some(mgf1), Some(d)) = (self.mgf1, digest) {
            if mgf1 != d {
                return Err(Error::unsupported(format!(
                    "MGF1 with {} is not supported with {}: Azure Key Vault uses MGF1 with the \
                     signature digest",
                    mgf1.name_str(),
                    d.name_str()
                )));
            }
        }
        Ok(())
    }

    /// The digest for `EVP_PKEY_sign`/`verify` input of `len` bytes.
    fn digest_for_input(&self, len: usize) -> Result<Digest> {
        let key = self.key()?;
        let digest = match (self.digest, key.kind) {
            (Some(d), _) => d,
            (None, KeyKind::Ec { curve }) => curve_digest(curve),
            (None, KeyKind::Rsa { .. }) => Digest::from_len(len).ok_or_else(|| {
                Error::invalid_argument(format!(
                    "the input is {len} bytes, which is not a SHA-256, SHA-384 or SHA-512 digest \
                     (32, 48 or 64 bytes); name the digest with -pkeyopt digest:<name>"
                ))
            })?,
        };
        if len != digest.size() {
            return Err(Error::invalid_argument(format!(
                "the input is {len} bytes, but a {} digest is {} bytes",
                digest.name_str(),
                digest.size()
            )));
        }
        Ok(digest)
    }

    fn algorithm(&self, digest: Digest) -> Result<SignatureAlgorithm> {
        let key = self.key()?;
        Ok(match (key.kind, self.padding, digest) {
            (KeyKind::Ec { curve }, _, d) if d == curve_digest(curve) => {
                curve.signature_algorithm()
            }
            (KeyKind::Rsa { .. }, Padding::Pkcs1, Digest::Sha256) => SignatureAlgorithm::Rs256,
            (KeyKind::Rsa { .. }, Padding::Pkcs1, Digest::Sha384) => SignatureAlgorithm::Rs384,
            (KeyKind::Rsa { .. }, Padding::Pkcs1, Digest::Sha512) => SignatureAlgorithm::Rs512,
            (KeyKind::Rsa { .. }, Padding::Pss, Digest::Sha256) => SignatureAlgorithm::Ps256,
            (KeyKind::Rsa { .. }, Padding::Pss, Digest::Sha384) => SignatureAlgorithm::Ps384,
            (KeyKind::Rsa { .. }, Padding::Pss, Digest::Sha512) => SignatureAlgorithm::Ps512,
            (_, _, d) => {
                return Err(Error::unsupported(format!(
                    "{} cannot be signed with {} by Azure Key Vault",
                    key.describe(),
                    d.name_str()
                )));
            }
        })
    }

    /// The one remote call.
    fn sign_digest(&self, digest: Digest, hash: &[u8]) -> Result<Vec<u8>> {
        self.check_sign_parameters(Some(digest))?;
        let key = self.key()?;
        let alg = self.algorithm(digest)?;
        key.check_operation(KeyOperation::Sign)?;
        let signature = key
            .client
            .sign(key.id(), alg, hash)
            .map_err(|e| Error::from_client("sign", key.id(), &e))?;
        match key.kind {
            KeyKind::Ec { curve } => der::ecdsa_raw_to_der(&signature, curve.coordinate_len()),
            KeyKind::Rsa { .. } => {
                let size = key.max_signature_size();
                if signature.len() > size || signature.is_empty() {
                    return Err(Error::new(
                        Reason::InvalidResponse,
                        format!(
                            "the service returned a {}-byte signature for a {}-byte modulus",
                            signature.len(),
                            size
                        ),
                    ));
                }
                // RSA signatures are as long as the modulus; left-pad a short one.
                let mut padded = vec![0u8; size - signature.len()];
                padded.extend_from_slice(&signature);
                Ok(padded)
            }
        }
    }

    fn local_params(&self, digest: Digest) -> LocalParams {
        match self.family {
            Family::Ecdsa => LocalParams {
                digest: Some(digest),
                ..LocalParams::default()
            },
            Family::Rsa => match self.padding {
                Padding::Pkcs1 => LocalParams {
                    pad_mode: Some("pkcs1"),
                    digest: Some(digest),
                    ..LocalParams::default()
                },
                Padding::Pss => LocalParams {
                    pad_mode: Some("pss"),
                    digest: Some(digest),
                    mgf1_digest: Some(self.mgf1.unwrap_or(digest)),
                    pss_saltlen: Some(match &self.saltlen {
                        SaltLen::Auto => "auto".to_string(),
                        SaltLen::Digest => "digest".to_string(),
                        SaltLen::Max => "max".to_string(),
                        SaltLen::Bytes(n) => n.to_string(),
                    }),
                },
            },
        }
    }

    fn verify_digest(&self, digest: Digest, hash: &[u8], signature: &[u8]) -> Result<bool> {
        let key = self.key()?;
        let _mark = crate::local::ErrorMark::set();
        key.local_key()?
            .verify(&self.local_params(digest), hash, signature)
    }

    fn algorithm_id(&self) -> Result<Option<Vec<u8>>> {
        let Some(key) = &self.key else {
            return Ok(None);
        };
        let digest = self.digest.unwrap_or(key.default_digest());
        Ok(Some(match (self.family, self.padding) {
            (Family::Ecdsa, _) => der::algorithm_id_ecdsa(digest)?,
            (Family::Rsa, Padding::Pkcs1) => der::algorithm_id_rsa_pkcs1(digest)?,
            (Family::Rsa, Padding::Pss) => {
                if self.operation == Some(Operation::Sign) {
                    self.check_sign_parameters(Some(digest))?;
                }
                der::algorithm_id_rsa_pss(digest, digest.size())?
            }
        }))
    }

    fn get_params(&self, out: ParamsOut) -> Result<()> {
        if out.has(names::ALGORITHM_ID) {
            if let Some(aid) = self.algorithm_id()? {
                out.set_octets(names::ALGORITHM_ID, &aid)?;
            }
        }
        if let Some(d) = self.digest {
            out.set_str(names::DIGEST, d.name())?;
            out.set_size_t(names::DIGEST_SIZE, d.size())?;
        }
        if self.family == Family::Rsa {
            let (int, text) = match self.padding {
                Padding::Pkcs1 => (ffi::RSA_PKCS1_PADDING, "pkcs1"),
                Padding::Pss => (ffi::RSA_PKCS1_PSS_PADDING, "pss"),
            };
            out.set_int_or_string(names::PAD_MODE, int, text)?;
            let salt = match (&self.saltlen, self.digest) {
                (SaltLen::Bytes(n), _) => (*n, n.to_string()),
                (_, Some(d)) if self.operation == Some(Operation::Sign) => {
                    (d.size() as c_int, d.size().to_string())
                }
                (SaltLen::Digest, _) => (ffi::RSA_PSS_SALTLEN_DIGEST, "digest".to_string()),
                (SaltLen::Max, _) => (ffi::RSA_PSS_SALTLEN_MAX, "max".to_string()),
                (SaltLen::Auto, _) => (ffi::RSA_PSS_SALTLEN_AUTO, "auto".to_string()),
            };
            out.set_int_or_string(names::PSS_SALTLEN, salt.0, &salt.1)?;
            if let Some(m) = self.mgf1.or(self.digest) {
                out.set_str(names::MGF1_DIGEST, m.name())?;
            }
        }
        Ok(())
    }
}

fn pad_mode_name(mode: &IntOrString) -> String {
    match mode {
        IntOrString::Str(s) => format!("'{s}'"),
        IntOrString::Int(ffi::RSA_NO_PADDING) => "'none'".to_string(),
        IntOrString::Int(ffi::RSA_X931_PADDING) => "'x931'".to_string(),
        IntOrString::Int(ffi::RSA_PKCS1_OAEP_PADDING) => "'oaep'".to_string(),
        IntOrString::Int(n) => n.to_string(),
    }
}

// ---------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------

impl OperationCtx for SignatureCtx {
    const WHAT: &'static str = "signature context";

    fn provider(&self) -> &ProviderContext {
        &self.provider
    }
}

unsafe extern "C" fn rsa_newctx(provctx: *mut c_void, _propq: *const c_char) -> *mut c_void {
    // SAFETY: OpenSSL passes our provctx.
    unsafe {
        context::new_ctx("signature_newctx", provctx, |p| {
            Ok(SignatureCtx::new(p, Family::Rsa))
        })
    }
}

unsafe extern "C" fn ecdsa_newctx(provctx: *mut c_void, _propq: *const c_char) -> *mut c_void {
    // SAFETY: OpenSSL passes our provctx.
    unsafe {
        context::new_ctx("signature_newctx", provctx, |p| {
            Ok(SignatureCtx::new(p, Family::Ecdsa))
        })
    }
}

unsafe extern "C" fn signature_freectx(ctx: *mut c_void) {
    // SAFETY: a context from newctx/dupctx, freed once.
    unsafe { context::free_ctx::<SignatureCtx>("signature_freectx", ctx) }
}

/// Mandatory on OpenSSL 3.0: `EVP_DigestSignFinal` finalises a duplicate. Copies the running
/// hash.
unsafe extern "C" fn signature_dupctx(ctx: *mut c_void) -> *mut c_void {
    // SAFETY: a live context.
    unsafe {
        with_ctx("signature_dupctx", ctx, |c: &mut SignatureCtx| {
            Ok(c.try_clone()?.into_raw())
        })
    }
}

fn md_name(mdname: *const c_char) -> Option<String> {
    // SAFETY: OpenSSL passes NULL or a NUL-terminated name.
    (!mdname.is_null()).then(|| {
        unsafe { CStr::from_ptr(mdname) }
            .to_string_lossy()
            .into_owned()
    })
}

/// The four `*_init` entry points. No network here.
///
/// # Safety
/// `ctx` is a live context; `provkey` NULL or our keymgmt's key; `mdname` NULL or a
/// NUL-terminated name; `params` NULL or END-terminated.
unsafe fn init(
    function: &str,
    ctx: *mut c_void,
    provkey: *mut c_void,
    operation: Operation,
    streaming: bool,
    mdname: *const c_char,
    params: *const OSSL_PARAM,
) -> c_int {
    // SAFETY: per the contract.
    unsafe {
        with_ctx(function, ctx, |c: &mut SignatureCtx| {
            c.init(
                provkey,
                operation,
                md_name(mdname),
                streaming,
                Params::new(params),
            )?;
            Ok(1)
        })
    }
}

unsafe extern "C" fn signature_sign_init(
    ctx: *mut c_void,
    provkey: *mut c_void,
    params: *const OSSL_PARAM,
) -> c_int {
    // SAFETY: OpenSSL's arguments, as `init` requires.
    unsafe {
        init(
            "signature_sign_init",
            ctx,
            provkey,
            Operation::Sign,
            false,
            std::ptr::null(),
            params,
        )
    }
}

unsafe extern "C" fn signature_verify_init(
    ctx: *mut c_void,
    provkey: *mut c_void,
    params: *const OSSL_PARAM,
) -> c_int {
    // SAFETY: OpenSSL's arguments, as `init` requires.
    unsafe {
        init(
            "signature_verify_init",
            ctx,
            provkey,
            Operation::Verify,
            false,
            std::ptr::null(),
            params,
        )
    }
}

unsafe extern "C" fn signature_digest_sign_init(
    ctx: *mut c_void,
    mdname: *const c_char,
    provkey: *mut c_void,
    params: *const OSSL_PARAM,
) -> c_int {
    // SAFETY: OpenSSL's arguments, as `init` requires.
    unsafe {
        init(
            "signature_digest_sign_init",
            ctx,
            provkey,
            Operation::Sign,
            true,
            mdname,
            params,
        )
    }
}

unsafe extern "C" fn signature_digest_verify_init(
    ctx: *mut c_void,
    mdname: *const c_char,
    provkey: *mut c_void,
    params: *const OSSL_PARAM,
) -> c_int {
    // SAFETY: OpenSSL's arguments, as `init` requires.
    unsafe {
        init(
            "signature_digest_verify_init",
            ctx,
            provkey,
            Operation::Verify,
            true,
            mdname,
            params,
        )
    }
}

unsafe extern "C" fn signature_sign(
    ctx: *mut c_void,
    sig: *mut u8,
    siglen: *mut usize,
    sigsize: usize,
    tbs: *const u8,
    tbslen: usize,
) -> c_int {
    // SAFETY: a live context; OpenSSL's buffers as OSSL_FUNC_signature_sign documents.
    unsafe {
        with_ctx("signature_sign", ctx, |c: &mut SignatureCtx| {
            let max = c.key()?.max_signature_size();
            let tbs = buffers::input(tbs, tbslen);
            buffers::output(sig, siglen, sigsize, max, || {
                let digest = c.digest_for_input(tbs.len())?;
                c.sign_digest(digest, tbs)
            })
        })
    }
}

unsafe extern "C" fn signature_verify(
    ctx: *mut c_void,
    sig: *const u8,
    siglen: usize,
    tbs: *const u8,
    tbslen: usize,
) -> c_int {
    // SAFETY: a live context; input buffers as documented.
    unsafe {
        with_ctx("signature_verify", ctx, |c: &mut SignatureCtx| {
            let (sig, tbs) = (buffers::input(sig, siglen), buffers::input(tbs, tbslen));
            let digest = c.digest_for_input(tbs.len())?;
            Ok(c_int::from(c.verify_digest(digest, tbs, sig)?))
        })
    }
}

unsafe extern "C" fn signature_digest_update(
    ctx: *mut c_void,
    data: *const u8,
    len: usize,
) -> c_int {
    // SAFETY: a live context; `data` has `len` readable bytes.
    unsafe {
        with_ctx("signature_digest_update", ctx, |c: &mut SignatureCtx| {
            c.hasher_mut()?.update(buffers::input(data, len))?;
            Ok(1)
        })
    }
}

unsafe extern "C" fn signature_digest_sign_final(
    ctx: *mut c_void,
    sig: *mut u8,
    siglen: *mut usize,
    sigsize: usize,
) -> c_int {
    // SAFETY: a live context; OpenSSL's output buffers.
    unsafe {
        with_ctx(
            "signature_digest_sign_final",
            ctx,
            |c: &mut SignatureCtx| {
                let max = c.key()?.max_signature_size();
                buffers::output(sig, siglen, sigsize, max, || {
                    let (digest, hash) = c.running_hash()?;
                    c.sign_digest(digest, &hash)
                })
            },
        )
    }
}

unsafe extern "C" fn signature_digest_verify_final(
    ctx: *mut c_void,
    sig: *const u8,
    siglen: usize,
) -> c_int {
    // SAFETY: a live context; `sig` has `siglen` readable bytes.
    unsafe {
        with_ctx(
            "signature_digest_verify_final",
            ctx,
            |c: &mut SignatureCtx| {
                let (digest, hash) = c.running_hash()?;
                let sig = buffers::input(sig, siglen);
                Ok(c_int::from(c.verify_digest(digest, &hash, sig)?))
            },
        )
    }
}

unsafe extern "C" fn signature_set_ctx_params(
    ctx: *mut c_void,
    params: *const OSSL_PARAM,
) -> c_int {
    // SAFETY: a live context; `params` NULL or END-terminated.
    unsafe {
        with_ctx("signature_set_ctx_params", ctx, |c: &mut SignatureCtx| {
            c.set_params(Params::new(params))?;
            Ok(1)
        })
    }
}

unsafe extern "C" fn signature_get_ctx_params(ctx: *mut c_void, params: *mut OSSL_PARAM) -> c_int {
    // SAFETY: a live context; a writable END-terminated array.
    unsafe {
        with_ctx("signature_get_ctx_params", ctx, |c: &mut SignatureCtx| {
            c.get_params(ParamsOut::new(params))?;
            Ok(1)
        })
    }
}

static RSA_SETTABLE_CTX_PARAMS: [OSSL_PARAM; 7] = [
    OSSL_PARAM::describe(names::DIGEST, ffi::OSSL_PARAM_UTF8_STRING),
    OSSL_PARAM::describe(names::PROPERTIES, ffi::OSSL_PARAM_UTF8_STRING),
    OSSL_PARAM::describe(names::PAD_MODE, ffi::OSSL_PARAM_UTF8_STRING),
    OSSL_PARAM::describe(names::MGF1_DIGEST, ffi::OSSL_PARAM_UTF8_STRING),
    OSSL_PARAM::describe(names::MGF1_PROPERTIES, ffi::OSSL_PARAM_UTF8_STRING),
    OSSL_PARAM::describe(names::PSS_SALTLEN, ffi::OSSL_PARAM_UTF8_STRING),
    OSSL_PARAM::END,
];

static ECDSA_SETTABLE_CTX_PARAMS: [OSSL_PARAM; 4] = [
    OSSL_PARAM::describe(names::DIGEST, ffi::OSSL_PARAM_UTF8_STRING),
    OSSL_PARAM::describe(names::PROPERTIES, ffi::OSSL_PARAM_UTF8_STRING),
    OSSL_PARAM::describe(names::DIGEST_SIZE, ffi::OSSL_PARAM_UNSIGNED_INTEGER),
    OSSL_PARAM::END,
];

static RSA_GETTABLE_CTX_PARAMS: [OSSL_PARAM; 6] = [
    OSSL_PARAM::describe(names::ALGORITHM_ID, ffi::OSSL_PARAM_OCTET_STRING),
    OSSL_PARAM::describe(names::DIGEST, ffi::OSSL_PARAM_UTF8_STRING),
    OSSL_PARAM::describe(names::PAD_MODE, ffi::OSSL_PARAM_UTF8_STRING),
    OSSL_PARAM::describe(names::MGF1_DIGEST, ffi::OSSL_PARAM_UTF8_STRING),
    OSSL_PARAM::describe(names::PSS_SALTLEN, ffi::OSSL_PARAM_UTF8_STRING),
    OSSL_PARAM::END,
];

static ECDSA_GETTABLE_CTX_PARAMS: [OSSL_PARAM; 4] = [
    OSSL_PARAM::describe(names::ALGORITHM_ID, ffi::OSSL_PARAM_OCTET_STRING),
    OSSL_PARAM::describe(names::DIGEST, ffi::OSSL_PARAM_UTF8_STRING),
    OSSL_PARAM::describe(names::DIGEST_SIZE, ffi::OSSL_PARAM_UNSIGNED_INTEGER),
    OSSL_PARAM::END,
];

unsafe extern "C" fn rsa_settable_ctx_params(
    _ctx: *mut c_void,
    _provctx: *mut c_void,
) -> *const OSSL_PARAM {
    RSA_SETTABLE_CTX_PARAMS.as_ptr()
}

unsafe extern "C" fn ecdsa_settable_ctx_params(
    _ctx: *mut c_void,
    _provctx: *mut c_void,
) -> *const OSSL_PARAM {
    ECDSA_SETTABLE_CTX_PARAMS.as_ptr()
}

unsafe extern "C" fn rsa_gettable_ctx_params(
    _ctx: *mut c_void,
    _provctx: *mut c_void,
) -> *const OSSL_PARAM {
    RSA_GETTABLE_CTX_PARAMS.as_ptr()
}

unsafe extern "C" fn ecdsa_gettable_ctx_params(
    _ctx: *mut c_void,
    _provctx: *mut c_void,
) -> *const OSSL_PARAM {
    ECDSA_GETTABLE_CTX_PARAMS.as_ptr()
}

macro_rules! signature_dispatch {
    ($newctx:ident, $settable:ident, $gettable:ident) => {
        [
            ffi::dispatch_signature_newctx($newctx),
            ffi::dispatch_signature_freectx(signature_freectx),
            ffi::dispatch_signature_dupctx(signature_dupctx),
            ffi::dispatch_signature_sign_init(signature_sign_init),
            ffi::dispatch_signature_sign(signature_sign),
            ffi::dispatch_signature_verify_init(signature_verify_init),
            ffi::dispatch_signature_verify(signature_verify),
            ffi::dispatch_signature_digest_sign_init(signature_digest_sign_init),
            ffi::dispatch_signature_digest_sign_update(signature_digest_update),
            ffi::dispatch_signature_digest_sign_final(signature_digest_sign_final),
            ffi::dispatch_signature_digest_verify_init(signature_digest_verify_init),
            ffi::dispatch_signature_digest_verify_update(signature_digest_update),
            ffi::dispatch_signature_digest_verify_final(signature_digest_verify_final),
            ffi::dispatch_signature_set_ctx_params(signature_set_ctx_params),
            ffi::dispatch_signature_settable_ctx_params($settable),
            ffi::dispatch_signature_get_ctx_params(signature_get_ctx_params),
            ffi::dispatch_signature_gettable_ctx_params($gettable),
            OSSL_DISPATCH::END,
        ]
    };
}

pub static RSA_DISPATCH: [OSSL_DISPATCH; 18] =
    signature_dispatch!(rsa_newctx, rsa_settable_ctx_params, rsa_gettable_ctx_params);

pub static ECDSA_DISPATCH: [OSSL_DISPATCH; 18] = signature_dispatch!(
    ecdsa_newctx,
    ecdsa_settable_ctx_params,
    ecdsa_gettable_ctx_params
);

pub static ALGORITHMS: [OSSL_ALGORITHM; 3] = [
    OSSL_ALGORITHM::new(c"RSA:rsaEncryption:1.2.840.113549.1.1.1", &RSA_DISPATCH),
    OSSL_ALGORITHM::new(c"ECDSA", &ECDSA_DISPATCH),
    OSSL_ALGORITHM::END,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::ParamBuilder;

    fn rsa_sign_ctx() -> SignatureCtx {
        let provider = Arc::new(ProviderContext::new(None, Default::default()));
        let mut ctx = SignatureCtx::new(provider, Family::Rsa);
        ctx.operation = Some(Operation::Sign);
        ctx
    }

    fn apply(ctx: &mut SignatureCtx, mut params: ParamBuilder) -> Result<()> {
        let ptr = params.build();
        // SAFETY: the builder keeps the array alive for the call.
        ctx.set_params(unsafe { Params::new(ptr) })
    }

    #[test]
    fn pad_mode_and_salt_length_arrive_as_int_or_string() {
        let mut ctx = rsa_sign_ctx();
        apply(&mut ctx, ParamBuilder::new().int(names::PAD_MODE, 6)).unwrap();
        assert_eq!(ctx.padding, Padding::Pss);
        apply(&mut ctx, ParamBuilder::new().utf8(names::PAD_MODE, "pkcs1")).unwrap();
        assert_eq!(ctx.padding, Padding::Pkcs1);
        apply(&mut ctx, ParamBuilder::new().utf8(names::PAD_MODE, "pss")).unwrap();
        apply(&mut ctx, ParamBuilder::new().int(names::PSS_SALTLEN, -1)).unwrap();
        assert_eq!(ctx.saltlen, SaltLen::Digest);
        apply(
            &mut ctx,
            ParamBuilder::new().utf8(names::PSS_SALTLEN, "auto"),
        )
        .unwrap();
        assert_eq!(ctx.saltlen, SaltLen::Auto);
        apply(&mut ctx, ParamBuilder::new().int(names::PSS_SALTLEN, -4)).unwrap();
        assert_eq!(ctx.saltlen, SaltLen::Auto);
    }

    #[test]
    fn pss_salt_other_than_digest_length_and_max_are_refused() {
        let mut ctx = rsa_sign_ctx();
        let pss = || ParamBuilder::new().utf8(names::PAD_MODE, "pss");
        apply(&mut ctx, pss().utf8(names::DIGEST, "SHA2-256")).unwrap();
        apply(&mut ctx, ParamBuilder::new().utf8(names::PSS_SALTLEN, "32")).unwrap();
        let err = apply(&mut ctx, ParamBuilder::new().int(names::PSS_SALTLEN, 20)).unwrap_err();
        assert!(
            err.message.contains("PSS salt length 20"),
            "{}",
            err.message
        );
        let err = apply(
            &mut ctx,
            ParamBuilder::new().utf8(names::PSS_SALTLEN, "max"),
        )
        .unwrap_err();
        assert!(err.message.contains("'max'"), "{}", err.message);
        let err = apply(&mut ctx, ParamBuilder::new().utf8(names::PSS_SALTLEN, "x")).unwrap_err();
        assert!(err.message.contains("invalid PSS salt length 'x'"));
    }

    #[test]
    fn mgf1_must_match_the_digest_and_other_paddings_are_refused() {
        let mut ctx = rsa_sign_ctx();
        let params = ParamBuilder::new()
            .utf8(names::PAD_MODE, "pss")
            .utf8(names::DIGEST, "SHA384")
            .utf8(names::MGF1_DIGEST, "SHA256");
        let err = apply(&mut ctx, params).unwrap_err();
        assert!(err.message.contains("MGF1 with SHA256"), "{}", err.message);
        let mut ctx = rsa_sign_ctx();
        let err = apply(&mut ctx, ParamBuilder::new().int(names::PAD_MODE, 3)).unwrap_err();
        assert!(err.message.contains("'none'"), "{}", err.message);
        let err = apply(&mut ctx, ParamBuilder::new().utf8(names::DIGEST, "SHA1")).unwrap_err();
        assert_eq!(err.reason, Reason::Unsupported);
    }

    #[test]
    fn verify_accepts_parameters_the_service_could_not_sign_with() {
        let mut ctx = rsa_sign_ctx();
        ctx.operation = Some(Operation::Verify);
        let params = ParamBuilder::new()
            .utf8(names::PAD_MODE, "pss")
            .utf8(names::DIGEST, "SHA1")
            .utf8(names::PSS_SALTLEN, "max");
        apply(&mut ctx, params).unwrap();
        assert_eq!(ctx.digest, Some(Digest::Sha1));
    }
}
