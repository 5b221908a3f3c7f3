//! Reading and answering `OSSL_PARAM` arrays: the one place that touches their raw fields.

use std::ffi::{CStr, c_int, c_void};

use crate::error::{Error, Result};
use crate::ffi::{self, OSSL_PARAM};

/// A borrowed, END-terminated parameter array handed in by OpenSSL (may be NULL).
#[derive(Clone, Copy)]
pub struct Params(*const OSSL_PARAM);

impl Params {
    /// # Safety
    /// `ptr` is NULL or an array of `OSSL_PARAM` terminated by a NULL key, valid for the
    /// duration of the call that received it.
    pub unsafe fn new(ptr: *const OSSL_PARAM) -> Params {
        Params(ptr)
    }

    pub fn find(&self, key: &CStr) -> Option<Param<'_>> {
        if self.0.is_null() {
            return None;
        }
        // SAFETY: `self.0` is a valid END-terminated array (constructor contract).
        let p = unsafe { ffi::OSSL_PARAM_locate_const(self.0, key.as_ptr()) };
        // SAFETY: a non-NULL result points into that array.
        unsafe { p.as_ref() }.map(|p| Param { raw: p })
    }
}

/// One parameter of a [`Params`] array.
pub struct Param<'a> {
    raw: &'a OSSL_PARAM,
}

/// An int parameter that may also arrive as a string (`pad-mode`, `saltlen`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntOrString {
    Int(c_int),
    Str(String),
}

impl Param<'_> {
    pub fn name(&self) -> String {
        // SAFETY: every OSSL_PARAM key is a NUL-terminated string.
        unsafe { CStr::from_ptr(self.raw.key) }
            .to_string_lossy()
            .into_owned()
    }

    pub fn get_int(&self) -> Result<c_int> {
        let mut value: c_int = 0;
        // SAFETY: `raw` is a valid parameter; `value` is a valid out pointer.
        if unsafe { ffi::OSSL_PARAM_get_int(self.raw, &mut value) } == 1 {
            Ok(value)
        } else {
            Err(Error::invalid_argument(format!(
                "parameter '{}' is not an integer",
                self.name()
            )))
        }
    }

    pub fn get_uint(&self) -> Result<u32> {
        let mut value: std::ffi::c_uint = 0;
        // SAFETY: as in get_int.
        if unsafe { ffi::OSSL_PARAM_get_uint(self.raw, &mut value) } == 1 {
            Ok(value)
        } else {
            Err(Error::invalid_argument(format!(
                "parameter '{}' is not an unsigned integer",
                self.name()
            )))
        }
    }

    /// A UTF-8 string parameter (`UTF8_STRING` or `UTF8_PTR`).
    pub fn get_str(&self) -> Result<String> {
        let bytes: &[u8] = match self.raw.data_type {
            ffi::OSSL_PARAM_UTF8_STRING if !self.raw.data.is_null() => {
                // SAFETY: a UTF8_STRING parameter holds `data_size` bytes at `data`.
                let all = unsafe {
                    std::slice::from_raw_parts(self.raw.data as *const u8, self.raw.data_size)
                };
                // Some callers count the terminating NUL in data_size.
                all.split(|b| *b == 0).next().unwrap_or(all)
            }
            ffi::OSSL_PARAM_UTF8_PTR if !self.raw.data.is_null() => {
                // SAFETY: a UTF8_PTR parameter's data is a `const char **`.
                let s = unsafe { *(self.raw.data as *const *const std::ffi::c_char) };
                if s.is_null() {
                    &[]
                } else {
                    // SAFETY: the pointed-to string is NUL-terminated.
                    unsafe { CStr::from_ptr(s) }.to_bytes()
                }
            }
            _ => {
                return Err(Error::invalid_argument(format!(
                    "parameter '{}' is not a string",
                    self.name()
                )));
            }
        };
        String::from_utf8(bytes.to_vec()).map_err(|_| {
            Error::invalid_argument(format!("parameter '{}' is not valid UTF-8", self.name()))
        })
    }

    /// An octet-string parameter.
    pub fn get_octets(&self) -> Result<Vec<u8>> {
        match self.raw.data_type {
            ffi::OSSL_PARAM_OCTET_STRING => {
                if self.raw.data.is_null() || self.raw.data_size == 0 {
                    return Ok(Vec::new());
                }
                // SAFETY: an OCTET_STRING parameter holds `data_size` bytes at `data`.
                Ok(unsafe {
                    std::slice::from_raw_parts(self.raw.data as *const u8, self.raw.data_size)
                }
                .to_vec())
            }
            _ => Err(Error::invalid_argument(format!(
                "parameter '{}' is not an octet string",
                self.name()
            ))),
        }
    }

    pub fn get_int_or_str(&self) -> Result<IntOrString> {
        match self.raw.data_type {
            ffi::OSSL_PARAM_UTF8_STRING | ffi::OSSL_PARAM_UTF8_PTR => {
                Ok(IntOrString::Str(self.get_str()?))
            }
            _ => Ok(IntOrString::Int(self.get_int()?)),
        }
    }
}

/// A mutable, END-terminated parameter array that OpenSSL asks us to fill (get_params).
#[derive(Clone, Copy)]
pub struct ParamsOut(*mut OSSL_PARAM);

impl ParamsOut {
    /// # Safety
    /// As [`Params::new`], and the array's buffers are writable.
    pub unsafe fn new(ptr: *mut OSSL_PARAM) -> ParamsOut {
        ParamsOut(ptr)
    }

    fn locate(&self, key: &CStr) -> Option<*mut OSSL_PARAM> {
        if self.0.is_null() {
            return None;
        }
        // SAFETY: `self.0` is a valid END-terminated array (constructor contract).
        let p = unsafe { ffi::OSSL_PARAM_locate(self.0, key.as_ptr()) };
        (!p.is_null()).then_some(p)
    }

    pub fn has(&self, key: &CStr) -> bool {
        self.locate(key).is_some()
    }

    fn check(key: &CStr, ok: c_int) -> Result<()> {
        if ok == 1 {
            Ok(())
        } else {
            Err(Error::invalid_argument(format!(
                "cannot return parameter '{}' (wrong type or buffer too small)",
                key.to_string_lossy()
            )))
        }
    }

    /// Sets `key` (an integer of any width) if it was asked for.
    pub fn set_int(&self, key: &CStr, value: c_int) -> Result<()> {
        match self.locate(key) {
            // SAFETY: `p` points at a parameter of this writable array.
            Some(p) => Self::check(key, unsafe { ffi::OSSL_PARAM_set_int(p, value) }),
            None => Ok(()),
        }
    }

    pub fn set_uint(&self, key: &CStr, value: u32) -> Result<()> {
        match self.locate(key) {
            // SAFETY: as in set_int.
            Some(p) => Self::check(key, unsafe { ffi::OSSL_PARAM_set_uint(p, value) }),
            None => Ok(()),
        }
    }

    pub fn set_size_t(&self, key: &CStr, value: usize) -> Result<()> {
        match self.locate(key) {
            // SAFETY: as in set_int.
            Some(p) => Self::check(key, unsafe { ffi::OSSL_PARAM_set_size_t(p, value) }),
            None => Ok(()),
        }
    }

    /// Sets a UTF-8 string (`UTF8_STRING` copies, `UTF8_PTR` needs a static string).
    pub fn set_str(&self, key: &CStr, value: &'static CStr) -> Result<()> {
        let Some(p) = self.locate(key) else {
            return Ok(());
        };
        // SAFETY: `p` is a parameter of this array; `value` is static.
        let ok = unsafe {
            if (*p).data_type == ffi::OSSL_PARAM_UTF8_PTR {
                ffi::OSSL_PARAM_set_utf8_ptr(p, value.as_ptr())
            } else {
                ffi::OSSL_PARAM_set_utf8_string(p, value.as_ptr())
            }
        };
        Self::check(key, ok)
    }

    pub fn set_octets(&self, key: &CStr, value: &[u8]) -> Result<()> {
        match self.locate(key) {
            // SAFETY: `p` is a parameter of this array; the core copies `value`.
            Some(p) => Self::check(key, unsafe {
                ffi::OSSL_PARAM_set_octet_string(p, value.as_ptr() as *const c_void, value.len())
            }),
            None => Ok(()),
        }
    }

    /// The type of the parameter `key` asks for, if it is asked for.
    pub fn data_type(&self, key: &CStr) -> Option<u32> {
        // SAFETY: `p` points at a parameter of this array.
        self.locate(key).map(|p| unsafe { (*p).data_type })
    }

    /// Sets a string parameter from a runtime value (the core copies it).
    pub fn set_string(&self, key: &CStr, value: &str) -> Result<()> {
        let Some(p) = self.locate(key) else {
            return Ok(());
        };
        let value = std::ffi::CString::new(value.replace('\0', "")).unwrap_or_default();
        // SAFETY: `p` is a parameter of this array; `value` lives across the call.
        Self::check(key, unsafe {
            ffi::OSSL_PARAM_set_utf8_string(p, value.as_ptr())
        })
    }

    /// Answers an int parameter that may be asked for as a string (`pad-mode`, `saltlen`).
    pub fn set_int_or_string(&self, key: &CStr, int: c_int, string: &str) -> Result<()> {
        match self.data_type(key) {
            None => Ok(()),
            Some(ffi::OSSL_PARAM_UTF8_STRING) => self.set_string(key, string),
            Some(_) => self.set_int(key, int),
        }
    }

    /// Sets a big unsigned integer given big-endian, as `OSSL_PARAM_set_BN` does: native
    /// byte order, zero-padded to the caller's buffer, size query when `data` is NULL.
    pub fn set_biguint(&self, key: &CStr, big_endian: &[u8]) -> Result<()> {
        let Some(p) = self.locate(key) else {
            return Ok(());
        };
        // SAFETY: `p` is a parameter of this writable array.
        let p = unsafe { &mut *p };
        let trimmed = strip_leading_zeros(big_endian);
        let mut needed = trimmed.len().max(1);
        match p.data_type {
            ffi::OSSL_PARAM_UNSIGNED_INTEGER => {}
            ffi::OSSL_PARAM_INTEGER => needed += 1,
            _ => return Self::check(key, 0),
        }
        p.return_size = needed;
        if p.data.is_null() {
            return Ok(());
        }
        if p.data_size < needed {
            return Self::check(key, 0);
        }
        // SAFETY: `data` holds `data_size` writable bytes.
        let out = unsafe { std::slice::from_raw_parts_mut(p.data as *mut u8, p.data_size) };
        write_native_unsigned(trimmed, out);
        p.return_size = p.data_size;
        Ok(())
    }
}

pub fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// Writes a big-endian unsigned number into `out` in native byte order, zero-padded.
pub fn write_native_unsigned(big_endian: &[u8], out: &mut [u8]) {
    out.fill(0);
    let n = big_endian.len().min(out.len());
    let src = &big_endian[big_endian.len() - n..];
    if cfg!(target_endian = "little") {
        for (i, b) in src.iter().rev().enumerate() {
            out[i] = *b;
        }
    } else {
        let start = out.len() - n;
        out[start..].copy_from_slice(src);
    }
}

/// Builds an END-terminated `OSSL_PARAM` array that owns its data, for callbacks
/// (store object_cb, keymgmt export) and for libcrypto calls.
#[derive(Default)]
pub struct ParamBuilder {
    /// key, data type, buffer, data_size (a UTF-8 string's buffer also holds its NUL).
    entries: Vec<(&'static CStr, u32, Box<[u8]>, usize)>,
    params: Vec<OSSL_PARAM>,
}

impl ParamBuilder {
    pub fn new() -> ParamBuilder {
        ParamBuilder::default()
    }

    fn push(mut self, key: &'static CStr, data_type: u32, data: Vec<u8>, size: usize) -> Self {
        self.entries
            .push((key, data_type, data.into_boxed_slice(), size));
        self
    }

    pub fn int(self, key: &'static CStr, value: c_int) -> Self {
        let bytes = value.to_ne_bytes().to_vec();
        let size = bytes.len();
        self.push(key, ffi::OSSL_PARAM_INTEGER, bytes, size)
    }

    pub fn utf8(self, key: &'static CStr, value: &str) -> Self {
        let mut bytes: Vec<u8> = value.bytes().filter(|b| *b != 0).collect();
        let size = bytes.len();
        bytes.push(0);
        self.push(key, ffi::OSSL_PARAM_UTF8_STRING, bytes, size)
    }

    pub fn octets(self, key: &'static CStr, value: &[u8]) -> Self {
        self.push(
            key,
            ffi::OSSL_PARAM_OCTET_STRING,
            value.to_vec(),
            value.len(),
        )
    }

    /// A big unsigned integer given big-endian.
    pub fn biguint(self, key: &'static CStr, big_endian: &[u8]) -> Self {
        let trimmed = strip_leading_zeros(big_endian);
        let mut native = vec![0u8; trimmed.len().max(1)];
        write_native_unsigned(trimmed, &mut native);
        let size = native.len();
        self.push(key, ffi::OSSL_PARAM_UNSIGNED_INTEGER, native, size)
    }

    /// The array; valid while `self` lives and is not modified.
    pub fn build(&mut self) -> *mut OSSL_PARAM {
        self.params = self
            .entries
            .iter_mut()
            .map(|(key, data_type, data, size)| OSSL_PARAM {
                key: key.as_ptr(),
                data_type: *data_type,
                data: data.as_mut_ptr() as *mut c_void,
                data_size: *size,
                return_size: ffi::OSSL_PARAM_UNMODIFIED,
            })
            .collect();
        self.params.push(OSSL_PARAM::END);
        self.params.as_mut_ptr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_unsigned_is_little_endian_on_this_host_and_padded() {
        let mut out = [0xffu8; 4];
        write_native_unsigned(&[0x01, 0x02], &mut out);
        if cfg!(target_endian = "little") {
            assert_eq!(out, [0x02, 0x01, 0, 0]);
        } else {
            assert_eq!(out, [0, 0, 0x01, 0x02]);
        }
    }

    #[test]
    fn builder_round_trips_through_libcrypto_readers() {
        let mut b = ParamBuilder::new()
            .int(c"type", 2)
            .utf8(c"data-type", "RSA")
            .octets(c"reference", &[1, 2, 3]);
        let ptr = b.build();
        // SAFETY: the builder keeps the array alive for this scope.
        let params = unsafe { Params::new(ptr) };
        assert_eq!(params.find(c"type").unwrap().get_int().unwrap(), 2);
        assert_eq!(params.find(c"data-type").unwrap().get_str().unwrap(), "RSA");
        assert_eq!(
            params.find(c"reference").unwrap().get_octets().unwrap(),
            vec![1, 2, 3]
        );
        assert!(params.find(c"missing").is_none());
    }

    #[test]
    fn set_biguint_answers_size_queries_and_fills_buffers() {
        let mut buf = [0u8; 8];
        let mut arr = [
            OSSL_PARAM {
                key: c"n".as_ptr(),
                data_type: ffi::OSSL_PARAM_UNSIGNED_INTEGER,
                data: std::ptr::null_mut(),
                data_size: 0,
                return_size: 0,
            },
            OSSL_PARAM::END,
        ];
        // SAFETY: `arr` is END-terminated and lives for the test.
        let out = unsafe { ParamsOut::new(arr.as_mut_ptr()) };
        out.set_biguint(c"n", &[0, 0x01, 0x00, 0x01]).unwrap();
        assert_eq!(arr[0].return_size, 3);
        arr[0].data = buf.as_mut_ptr() as *mut c_void;
        arr[0].data_size = buf.len();
        let out = unsafe { ParamsOut::new(arr.as_mut_ptr()) };
        out.set_biguint(c"n", &[0x01, 0x00, 0x01]).unwrap();
        if cfg!(target_endian = "little") {
            assert_eq!(buf, [0x01, 0x00, 0x01, 0, 0, 0, 0, 0]);
        }
    }
}
