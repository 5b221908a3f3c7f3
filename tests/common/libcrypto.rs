//! The provider loaded into this test process through libcrypto, as an application loads it:
//! its own `OSSL_LIB_CTX` (configured from an openssl.cnf, or with `OSSL_PROVIDER_load` and a
//! module path), keys from `OSSL_STORE`, signatures with `EVP_DigestSign*` / `EVP_PKEY_sign`.
//! Signatures are checked in a second library context holding only OpenSSL's default provider.

#![allow(dead_code)]

use std::ffi::{CStr, CString, c_char, c_int, c_long, c_uchar, c_ulong, c_void};
use std::path::Path;
use std::ptr::{null, null_mut};

// The system libcrypto, as the provider links it.
extern crate openssl_sys;

macro_rules! opaque {
    ($($name:ident),*) => {
        $(
            #[repr(C)]
            pub struct $name {
                _private: [u8; 0],
            }
        )*
    };
}

opaque!(
    OSSL_LIB_CTX,
    OSSL_PROVIDER,
    OSSL_STORE_CTX,
    OSSL_STORE_INFO,
    EVP_PKEY,
    EVP_PKEY_CTX,
    EVP_MD_CTX
);

#[repr(C)]
pub struct OSSL_PARAM {
    key: *const c_char,
    data_type: u32,
    data: *mut c_void,
    data_size: usize,
    return_size: usize,
}

pub const OSSL_STORE_INFO_PKEY: c_int = 4;
pub const EVP_PKEY_KEYPAIR: c_int = 0x87;
pub const EVP_PKEY_PUBLIC_KEY: c_int = 0x86;

#[allow(clashing_extern_declarations)]
unsafe extern "C" {
    fn OSSL_LIB_CTX_new() -> *mut OSSL_LIB_CTX;
    fn OSSL_LIB_CTX_free(ctx: *mut OSSL_LIB_CTX);
    fn OSSL_LIB_CTX_load_config(ctx: *mut OSSL_LIB_CTX, file: *const c_char) -> c_int;
    fn OSSL_PROVIDER_load(ctx: *mut OSSL_LIB_CTX, name: *const c_char) -> *mut OSSL_PROVIDER;
    fn OSSL_PROVIDER_unload(prov: *mut OSSL_PROVIDER) -> c_int;

    fn OSSL_STORE_open_ex(
        uri: *const c_char,
        libctx: *mut OSSL_LIB_CTX,
        propq: *const c_char,
        ui_method: *const c_void,
        ui_data: *mut c_void,
        params: *const OSSL_PARAM,
        post_process: *const c_void,
        post_process_data: *mut c_void,
    ) -> *mut OSSL_STORE_CTX;
    fn OSSL_STORE_expect(ctx: *mut OSSL_STORE_CTX, expected_type: c_int) -> c_int;
    fn OSSL_STORE_load(ctx: *mut OSSL_STORE_CTX) -> *mut OSSL_STORE_INFO;
    fn OSSL_STORE_eof(ctx: *mut OSSL_STORE_CTX) -> c_int;
    fn OSSL_STORE_close(ctx: *mut OSSL_STORE_CTX) -> c_int;
    fn OSSL_STORE_INFO_get_type(info: *const OSSL_STORE_INFO) -> c_int;
    fn OSSL_STORE_INFO_get1_PKEY(info: *const OSSL_STORE_INFO) -> *mut EVP_PKEY;
    fn OSSL_STORE_INFO_free(info: *mut OSSL_STORE_INFO);

    fn EVP_PKEY_free(pkey: *mut EVP_PKEY);
    fn EVP_PKEY_get_bits(pkey: *const EVP_PKEY) -> c_int;
    fn EVP_PKEY_get_security_bits(pkey: *const EVP_PKEY) -> c_int;
    fn EVP_PKEY_get_size(pkey: *const EVP_PKEY) -> c_int;
    fn EVP_PKEY_get_default_digest_name(
        pkey: *mut EVP_PKEY,
        mdname: *mut c_char,
        mdname_sz: usize,
    ) -> c_int;
    fn EVP_PKEY_get_group_name(
        pkey: *const EVP_PKEY,
        name: *mut c_char,
        name_sz: usize,
        gname_len: *mut usize,
    ) -> c_int;
    fn EVP_PKEY_is_a(pkey: *const EVP_PKEY, name: *const c_char) -> c_int;
    fn EVP_PKEY_eq(a: *const EVP_PKEY, b: *const EVP_PKEY) -> c_int;
    fn EVP_PKEY_todata(
        pkey: *const EVP_PKEY,
        selection: c_int,
        params: *mut *mut OSSL_PARAM,
    ) -> c_int;
    fn OSSL_PARAM_free(params: *mut OSSL_PARAM);
    fn i2d_PUBKEY(pkey: *const EVP_PKEY, out: *mut *mut c_uchar) -> c_int;
    fn d2i_PUBKEY_ex(
        a: *mut *mut EVP_PKEY,
        pp: *mut *const c_uchar,
        length: c_long,
        libctx: *mut OSSL_LIB_CTX,
        propq: *const c_char,
    ) -> *mut EVP_PKEY;
    fn CRYPTO_free(ptr: *mut c_void, file: *const c_char, line: c_int);
    fn EVP_PKEY_digestsign_supports_digest(
        pkey: *mut EVP_PKEY,
        libctx: *mut OSSL_LIB_CTX,
        name: *const c_char,
        propq: *const c_char,
    ) -> c_int;

    fn EVP_MD_CTX_new() -> *mut EVP_MD_CTX;
    fn EVP_MD_CTX_free(ctx: *mut EVP_MD_CTX);
    fn EVP_DigestSignInit_ex(
        ctx: *mut EVP_MD_CTX,
        pctx: *mut *mut EVP_PKEY_CTX,
        mdname: *const c_char,
        libctx: *mut OSSL_LIB_CTX,
        props: *const c_char,
        pkey: *mut EVP_PKEY,
        params: *const OSSL_PARAM,
    ) -> c_int;
    fn EVP_DigestSignUpdate(ctx: *mut EVP_MD_CTX, data: *const c_void, len: usize) -> c_int;
    fn EVP_DigestSignFinal(ctx: *mut EVP_MD_CTX, sig: *mut c_uchar, siglen: *mut usize) -> c_int;
    fn EVP_DigestSign(
        ctx: *mut EVP_MD_CTX,
        sig: *mut c_uchar,
        siglen: *mut usize,
        tbs: *const c_uchar,
        tbslen: usize,
    ) -> c_int;
    fn EVP_DigestVerifyInit_ex(
        ctx: *mut EVP_MD_CTX,
        pctx: *mut *mut EVP_PKEY_CTX,
        mdname: *const c_char,
        libctx: *mut OSSL_LIB_CTX,
        props: *const c_char,
        pkey: *mut EVP_PKEY,
        params: *const OSSL_PARAM,
    ) -> c_int;
    fn EVP_DigestVerify(
        ctx: *mut EVP_MD_CTX,
        sig: *const c_uchar,
        siglen: usize,
        tbs: *const c_uchar,
        tbslen: usize,
    ) -> c_int;

    fn EVP_PKEY_CTX_new_from_pkey(
        libctx: *mut OSSL_LIB_CTX,
        pkey: *mut EVP_PKEY,
        propq: *const c_char,
    ) -> *mut EVP_PKEY_CTX;
    fn EVP_PKEY_CTX_free(ctx: *mut EVP_PKEY_CTX);
    fn EVP_PKEY_sign_init(ctx: *mut EVP_PKEY_CTX) -> c_int;
    fn EVP_PKEY_sign(
        ctx: *mut EVP_PKEY_CTX,
        sig: *mut c_uchar,
        siglen: *mut usize,
        tbs: *const c_uchar,
        tbslen: usize,
    ) -> c_int;

    fn ERR_get_error_all(
        file: *mut *const c_char,
        line: *mut c_int,
        func: *mut *const c_char,
        data: *mut *const c_char,
        flags: *mut c_int,
    ) -> c_ulong;
    fn ERR_reason_error_string(code: c_ulong) -> *const c_char;
    fn ERR_clear_error();
}

fn cstring(s: &str) -> CString {
    CString::new(s).expect("no NUL in test strings")
}

/// Everything on this thread's OpenSSL error queue, one `reason: data` line per error,
/// oldest first; the queue is left empty.
pub fn take_errors() -> String {
    let mut lines = Vec::new();
    loop {
        let mut data: *const c_char = null();
        let mut flags: c_int = 0;
        // SAFETY: out pointers are valid; the strings returned belong to the error queue
        // and are copied before the next call.
        let code =
            unsafe { ERR_get_error_all(null_mut(), null_mut(), null_mut(), &mut data, &mut flags) };
        if code == 0 {
            break;
        }
        let text = |p: *const c_char| {
            if p.is_null() {
                String::new()
            } else {
                // SAFETY: NUL-terminated strings owned by libcrypto.
                unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
            }
        };
        // SAFETY: a plain lookup.
        let reason = text(unsafe { ERR_reason_error_string(code) });
        lines.push(format!("{reason}: {}", text(data)));
    }
    lines.join("\n")
}

pub fn clear_errors() {
    // SAFETY: plain error-queue call.
    unsafe { ERR_clear_error() };
}

/// An `OSSL_LIB_CTX` of this test's own, freed (its providers torn down) on drop.
pub struct LibCtx(*mut OSSL_LIB_CTX);

// SAFETY: library contexts are thread-safe; we only free it in Drop.
unsafe impl Send for LibCtx {}
unsafe impl Sync for LibCtx {}

impl LibCtx {
    /// An empty library context (no provider loaded).
    pub fn new() -> LibCtx {
        // SAFETY: plain constructor, checked.
        let ctx = unsafe { OSSL_LIB_CTX_new() };
        assert!(!ctx.is_null(), "OSSL_LIB_CTX_new");
        LibCtx(ctx)
    }

    /// A library context configured by the openssl.cnf at `cnf` (its providers activated).
    pub fn from_config(cnf: &Path) -> LibCtx {
        let ctx = LibCtx::new();
        let path = cstring(&cnf.display().to_string());
        // SAFETY: our context and a NUL-terminated path.
        let ok = unsafe { OSSL_LIB_CTX_load_config(ctx.0, path.as_ptr()) };
        assert_eq!(ok, 1, "OSSL_LIB_CTX_load_config: {}", take_errors());
        ctx
    }

    /// A library context with only OpenSSL's default provider: the independent verifier.
    pub fn default_only() -> LibCtx {
        let ctx = LibCtx::new();
        ctx.load_provider("default");
        ctx
    }

    /// `OSSL_PROVIDER_load` by name or module path; kept loaded until the context is freed.
    pub fn load_provider(&self, name_or_path: &str) {
        let name = cstring(name_or_path);
        // SAFETY: our context and a NUL-terminated name.
        let prov = unsafe { OSSL_PROVIDER_load(self.0, name.as_ptr()) };
        assert!(
            !prov.is_null(),
            "OSSL_PROVIDER_load({name_or_path}): {}",
            take_errors()
        );
    }

    pub fn as_ptr(&self) -> *mut OSSL_LIB_CTX {
        self.0
    }

    /// Opens `uri` with `OSSL_STORE_open_ex` in this context, expecting a private key.
    pub fn open_store(&self, uri: &str) -> Result<Store, String> {
        self.open_store_with(uri, &[])
    }

    /// As [`LibCtx::open_store`], handing the loader `params` (UTF-8 strings) at open, as
    /// applications do with `-keyform` or a property query.
    pub fn open_store_with(&self, uri: &str, params: &[(&CStr, &CStr)]) -> Result<Store, String> {
        let c_uri = cstring(uri);
        let mut array: Vec<OSSL_PARAM> = params
            .iter()
            .map(|(key, value)| OSSL_PARAM {
                key: key.as_ptr(),
                data_type: 4, // OSSL_PARAM_UTF8_STRING
                data: value.as_ptr() as *mut c_void,
                data_size: value.to_bytes().len(),
                return_size: usize::MAX,
            })
            .collect();
        array.push(OSSL_PARAM {
            key: null(),
            data_type: 0,
            data: null_mut(),
            data_size: 0,
            return_size: 0,
        });
        // SAFETY: our context; an END-terminated parameter array that outlives the call;
        // every other optional argument NULL.
        let ctx = unsafe {
            OSSL_STORE_open_ex(
                c_uri.as_ptr(),
                self.0,
                null(),
                null(),
                null_mut(),
                array.as_ptr(),
                null(),
                null_mut(),
            )
        };
        if ctx.is_null() {
            return Err(format!("OSSL_STORE_open_ex({uri}): {}", take_errors()));
        }
        // SAFETY: a live store context.
        unsafe { OSSL_STORE_expect(ctx, OSSL_STORE_INFO_PKEY) };
        Ok(Store(ctx))
    }

    /// Loads the private key `uri` names, as applications do: load until a key or eof.
    pub fn load_key(&self, uri: &str) -> Result<Pkey, String> {
        let mut store = self.open_store(uri)?;
        while !store.eof() {
            if let Some(key) = store.load() {
                return Ok(key);
            }
        }
        Err(format!("no key loaded from {uri}: {}", take_errors()))
    }
}

impl Drop for LibCtx {
    fn drop(&mut self) {
        // SAFETY: created by us, freed once.
        unsafe { OSSL_LIB_CTX_free(self.0) };
    }
}

/// An open `OSSL_STORE_CTX`.
pub struct Store(*mut OSSL_STORE_CTX);

impl Store {
    pub fn eof(&mut self) -> bool {
        // SAFETY: a live store context.
        unsafe { OSSL_STORE_eof(self.0) == 1 }
    }

    /// One `OSSL_STORE_load`: the private key if that is what came.
    pub fn load(&mut self) -> Option<Pkey> {
        // SAFETY: a live store context; the info is freed after taking its key.
        unsafe {
            let info = OSSL_STORE_load(self.0);
            if info.is_null() {
                return None;
            }
            let key = (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
                .then(|| OSSL_STORE_INFO_get1_PKEY(info))
                .filter(|k| !k.is_null())
                .map(Pkey);
            OSSL_STORE_INFO_free(info);
            key
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // SAFETY: ours, closed once.
        unsafe { OSSL_STORE_close(self.0) };
    }
}

/// An `EVP_PKEY`.
pub struct Pkey(*mut EVP_PKEY);

// SAFETY: an EVP_PKEY may be used by several threads at once for signing (each operation has
// its own EVP_MD_CTX / EVP_PKEY_CTX), which is what the thread test exercises.
unsafe impl Send for Pkey {}
unsafe impl Sync for Pkey {}

fn read_cstr_buffer(buf: &[u8]) -> String {
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

impl Pkey {
    pub fn as_ptr(&self) -> *mut EVP_PKEY {
        self.0
    }

    pub fn is_a(&self, name: &str) -> bool {
        let name = cstring(name);
        // SAFETY: a live key and a NUL-terminated name.
        unsafe { EVP_PKEY_is_a(self.0, name.as_ptr()) == 1 }
    }

    pub fn bits(&self) -> i32 {
        // SAFETY: a live key.
        unsafe { EVP_PKEY_get_bits(self.0) }
    }

    pub fn security_bits(&self) -> i32 {
        // SAFETY: a live key.
        unsafe { EVP_PKEY_get_security_bits(self.0) }
    }

    /// `EVP_PKEY_get_size`: the largest signature.
    pub fn size(&self) -> usize {
        // SAFETY: a live key.
        unsafe { EVP_PKEY_get_size(self.0) as usize }
    }

    pub fn default_digest(&self) -> String {
        let mut buf = [0u8; 64];
        // SAFETY: a live key and a writable buffer of the size given.
        let rc =
            unsafe { EVP_PKEY_get_default_digest_name(self.0, buf.as_mut_ptr().cast(), buf.len()) };
        assert!(
            rc > 0,
            "EVP_PKEY_get_default_digest_name: {}",
            take_errors()
        );
        read_cstr_buffer(&buf)
    }

    pub fn group_name(&self) -> String {
        let mut buf = [0u8; 64];
        let mut len = 0usize;
        // SAFETY: as above.
        let rc = unsafe {
            EVP_PKEY_get_group_name(self.0, buf.as_mut_ptr().cast(), buf.len(), &mut len)
        };
        assert_eq!(rc, 1, "EVP_PKEY_get_group_name: {}", take_errors());
        read_cstr_buffer(&buf)
    }

    /// `EVP_PKEY_todata` with `selection`: whether the key gave its parameters.
    pub fn exports(&self, selection: c_int) -> bool {
        let mut params: *mut OSSL_PARAM = null_mut();
        // SAFETY: a live key; the returned array is freed.
        unsafe {
            let ok = EVP_PKEY_todata(self.0, selection, &mut params) == 1;
            OSSL_PARAM_free(params);
            ok
        }
    }

    pub fn eq(&self, other: &Pkey) -> bool {
        // SAFETY: two live keys.
        unsafe { EVP_PKEY_eq(self.0, other.0) == 1 }
    }

    /// The SubjectPublicKeyInfo DER (`i2d_PUBKEY`).
    pub fn public_der(&self) -> Vec<u8> {
        let mut out: *mut c_uchar = null_mut();
        // SAFETY: i2d allocates `out`, which we copy and free.
        unsafe {
            let len = i2d_PUBKEY(self.0, &mut out);
            assert!(len > 0 && !out.is_null(), "i2d_PUBKEY: {}", take_errors());
            let der = std::slice::from_raw_parts(out, len as usize).to_vec();
            CRYPTO_free(out.cast(), c"test".as_ptr(), 0);
            der
        }
    }

    /// A public key from SPKI DER, in `libctx`.
    pub fn from_public_der(libctx: &LibCtx, der: &[u8]) -> Pkey {
        let mut p = der.as_ptr();
        // SAFETY: `p` walks `der`, which lives across the call.
        let key = unsafe {
            d2i_PUBKEY_ex(
                null_mut(),
                &mut p,
                der.len() as c_long,
                libctx.as_ptr(),
                null(),
            )
        };
        assert!(!key.is_null(), "d2i_PUBKEY_ex: {}", take_errors());
        Pkey(key)
    }

    /// libssl's probe: `EVP_PKEY_digestsign_supports_digest` (an `EVP_DigestSignInit_ex`).
    pub fn digestsign_supports(&self, libctx: &LibCtx, md: &str) -> bool {
        let md = cstring(md);
        // SAFETY: a live key and context.
        unsafe {
            EVP_PKEY_digestsign_supports_digest(self.0, libctx.as_ptr(), md.as_ptr(), null()) == 1
        }
    }

    /// A digest-sign operation started on this key (`EVP_DigestSignInit_ex`).
    pub fn digest_sign_init(&self, libctx: &LibCtx, md: &str) -> Result<DigestSign, String> {
        let md = cstring(md);
        // SAFETY: a fresh EVP_MD_CTX, freed by DigestSign's Drop.
        unsafe {
            let ctx = EVP_MD_CTX_new();
            assert!(!ctx.is_null());
            let op = DigestSign(ctx);
            let ok = EVP_DigestSignInit_ex(
                ctx,
                null_mut(),
                md.as_ptr(),
                libctx.as_ptr(),
                null(),
                self.0,
                null(),
            );
            if ok != 1 {
                return Err(format!("EVP_DigestSignInit_ex: {}", take_errors()));
            }
            Ok(op)
        }
    }

    /// One-shot `EVP_DigestSign` (size query, then the signature).
    pub fn digest_sign(&self, libctx: &LibCtx, md: &str, msg: &[u8]) -> Result<Vec<u8>, String> {
        self.digest_sign_init(libctx, md)?.sign_oneshot(msg)
    }

    /// `EVP_PKEY_sign` on a digest: `(size query answer, signature)`.
    pub fn pkey_sign(&self, libctx: &LibCtx, digest: &[u8]) -> Result<(usize, Vec<u8>), String> {
        // SAFETY: a fresh EVP_PKEY_CTX on a live key, freed on every path; buffers sized by
        // the size query.
        unsafe {
            let ctx = EVP_PKEY_CTX_new_from_pkey(libctx.as_ptr(), self.0, null());
            assert!(
                !ctx.is_null(),
                "EVP_PKEY_CTX_new_from_pkey: {}",
                take_errors()
            );
            let result = (|| {
                if EVP_PKEY_sign_init(ctx) != 1 {
                    return Err(format!("EVP_PKEY_sign_init: {}", take_errors()));
                }
                let mut len = 0usize;
                if EVP_PKEY_sign(ctx, null_mut(), &mut len, digest.as_ptr(), digest.len()) != 1 {
                    return Err(format!("EVP_PKEY_sign (size): {}", take_errors()));
                }
                let max = len;
                let mut sig = vec![0u8; len];
                if EVP_PKEY_sign(
                    ctx,
                    sig.as_mut_ptr(),
                    &mut len,
                    digest.as_ptr(),
                    digest.len(),
                ) != 1
                {
                    return Err(format!("EVP_PKEY_sign: {}", take_errors()));
                }
                sig.truncate(len);
                Ok((max, sig))
            })();
            EVP_PKEY_CTX_free(ctx);
            result
        }
    }

    /// `EVP_DigestVerify` with this (public) key in `libctx`.
    pub fn verify(&self, libctx: &LibCtx, md: &str, msg: &[u8], sig: &[u8]) -> bool {
        let md = cstring(md);
        // SAFETY: a fresh EVP_MD_CTX, freed on every path.
        unsafe {
            let ctx = EVP_MD_CTX_new();
            assert!(!ctx.is_null());
            let ok = EVP_DigestVerifyInit_ex(
                ctx,
                null_mut(),
                md.as_ptr(),
                libctx.as_ptr(),
                null(),
                self.0,
                null(),
            ) == 1
                && EVP_DigestVerify(ctx, sig.as_ptr(), sig.len(), msg.as_ptr(), msg.len()) == 1;
            EVP_MD_CTX_free(ctx);
            clear_errors();
            ok
        }
    }
}

impl Drop for Pkey {
    fn drop(&mut self) {
        // SAFETY: we own one reference.
        unsafe { EVP_PKEY_free(self.0) };
    }
}

/// A running `EVP_DigestSign*` operation.
pub struct DigestSign(*mut EVP_MD_CTX);

impl DigestSign {
    pub fn update(&mut self, data: &[u8]) -> Result<(), String> {
        // SAFETY: an initialised context; `data` is a valid slice.
        if unsafe { EVP_DigestSignUpdate(self.0, data.as_ptr().cast(), data.len()) } != 1 {
            return Err(format!("EVP_DigestSignUpdate: {}", take_errors()));
        }
        Ok(())
    }

    /// `EVP_DigestSignFinal` with a NULL buffer: the size OpenSSL would allocate.
    pub fn final_size(&mut self) -> Result<usize, String> {
        let mut len = 0usize;
        // SAFETY: an initialised context; NULL asks for the size.
        if unsafe { EVP_DigestSignFinal(self.0, null_mut(), &mut len) } != 1 {
            return Err(format!("EVP_DigestSignFinal (size): {}", take_errors()));
        }
        Ok(len)
    }

    /// `EVP_DigestSignFinal` (size query, then the signature; on 3.0 through `dupctx`).
    pub fn finish(&mut self) -> Result<Vec<u8>, String> {
        let mut len = self.final_size()?;
        let mut sig = vec![0u8; len];
        // SAFETY: `sig` has `len` writable bytes.
        if unsafe { EVP_DigestSignFinal(self.0, sig.as_mut_ptr(), &mut len) } != 1 {
            return Err(format!("EVP_DigestSignFinal: {}", take_errors()));
        }
        sig.truncate(len);
        Ok(sig)
    }

    /// One-shot `EVP_DigestSign` over `msg` (size query, then the signature).
    pub fn sign_oneshot(self, msg: &[u8]) -> Result<Vec<u8>, String> {
        let mut len = 0usize;
        // SAFETY: an initialised context; `sig` is sized by the size query.
        unsafe {
            if EVP_DigestSign(self.0, null_mut(), &mut len, msg.as_ptr(), msg.len()) != 1 {
                return Err(format!("EVP_DigestSign (size): {}", take_errors()));
            }
            let mut sig = vec![0u8; len];
            if EVP_DigestSign(self.0, sig.as_mut_ptr(), &mut len, msg.as_ptr(), msg.len()) != 1 {
                return Err(format!("EVP_DigestSign: {}", take_errors()));
            }
            sig.truncate(len);
            Ok(sig)
        }
    }
}

impl Drop for DigestSign {
    fn drop(&mut self) {
        // SAFETY: ours, freed once.
        unsafe { EVP_MD_CTX_free(self.0) };
    }
}

/// Checks `sig` over `msg` with `public_der` in a library context of OpenSSL's default
/// provider alone.
pub fn verifies_with_default_provider(public_der: &[u8], md: &str, msg: &[u8], sig: &[u8]) -> bool {
    let verifier = LibCtx::default_only();
    let key = Pkey::from_public_der(&verifier, public_der);
    key.verify(&verifier, md, msg, sig)
}
