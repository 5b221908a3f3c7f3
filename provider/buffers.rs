//! OpenSSL's raw input and output buffers for sign, decrypt and encrypt: the one place that
//! turns them into slices and answers the size query.

use std::ffi::c_int;

use crate::error::{Error, Result};

/// The `len` bytes at `ptr` (empty when `ptr` is NULL or `len` is 0).
///
/// # Safety
/// `ptr` is NULL or points at `len` readable bytes that outlive `'a`.
pub unsafe fn input<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: per the contract.
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }
}

/// Answers an operation whose result goes to `out` (`outsize` bytes) and `*outlen`: with a
/// NULL `out`, the size query, `max_size` without running `produce` (no remote call); else
/// the bytes `produce` returns.
///
/// # Safety
/// `out` is NULL or has `outsize` writable bytes; `outlen` is NULL or writable.
pub unsafe fn output(
    out: *mut u8,
    outlen: *mut usize,
    outsize: usize,
    max_size: usize,
    produce: impl FnOnce() -> Result<Vec<u8>>,
) -> Result<c_int> {
    if outlen.is_null() {
        return Err(Error::internal("no output length pointer"));
    }
    if out.is_null() {
        // SAFETY: checked non-NULL; writable per the contract.
        unsafe { *outlen = max_size };
        return Ok(1);
    }
    let result = produce()?;
    if result.len() > outsize {
        return Err(Error::invalid_argument(format!(
            "output buffer too small: {} bytes needed, {outsize} given",
            result.len()
        )));
    }
    // SAFETY: `out` has `outsize` >= result.len() writable bytes; `outlen` is writable.
    unsafe {
        std::ptr::copy_nonoverlapping(result.as_ptr(), out, result.len());
        *outlen = result.len();
    }
    Ok(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_null_buffer_is_a_size_query_that_produces_nothing() {
        let mut len = 0usize;
        // SAFETY: NULL output, writable length.
        let rc = unsafe {
            output(std::ptr::null_mut(), &mut len, 0, 256, || {
                panic!("no remote call for a size query")
            })
        };
        assert_eq!((rc.unwrap(), len), (1, 256));
    }

    #[test]
    fn a_short_buffer_is_refused_and_left_alone() {
        let mut buf = [0u8; 2];
        let mut len = 0usize;
        // SAFETY: `buf` has 2 writable bytes.
        let err =
            unsafe { output(buf.as_mut_ptr(), &mut len, 2, 3, || Ok(vec![1, 2, 3])) }.unwrap_err();
        assert!(
            err.message.contains("3 bytes needed, 2 given"),
            "{}",
            err.message
        );
        assert_eq!((buf, len), ([0, 0], 0));
    }
}
