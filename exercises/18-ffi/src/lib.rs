//! # Exercise 18: a safe wrapper over a C library
//!
//! `c/kv.c` is a small key-value store written in C (read `c/kv.h`: it is
//! the library's whole documentation); `build.rs` compiles it with the `cc`
//! crate and links it into this crate. Your job is to make it safe to use
//! from Rust:
//!
//! 1. [`Kv`] owns one C store and frees it when dropped; every method turns
//!    the library's error codes into [`KvError`] and Rust strings into C
//!    strings and back.
//! 2. [`Kv::for_each`] hands a Rust closure to C as a callback, and keeps a
//!    panic in that closure from unwinding through C.
//! 3. [`ex18_utf8_valid_prefix`] goes the other way: a Rust function that C
//!    code calls (`c/calls_rust.c`).
//! 4. [`add_with_carry`] is written in inline assembly on x86_64.
//!
//! Run the tests with
//!
//! ```text
//! cargo test -p exercise-18
//! ```
//!
//! Every `unsafe` block you write gets a `// SAFETY:` comment saying why
//! its requirements hold (chapter 17).

use std::any::Any;
use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::ptr::{self, NonNull};

/// The most keys a store may hold (`KV_MAX_CAPACITY` in `c/kv.h`).
pub const MAX_CAPACITY: usize = 65536;

/// Hand-written declarations of `c/kv.h`: what bindgen would generate.
/// The types and constants are given; complete the functions.
#[allow(non_camel_case_types)] // the C names, as in kv.h
mod ffi {
    use std::ffi::{c_char, c_int, c_long, c_void};
    use std::marker::{PhantomData, PhantomPinned};

    /// `kv_t`: opaque. Rust never sees its fields and never makes one; it
    /// only holds pointers to stores that C made. The marker keeps it from
    /// being `Send`, `Sync` or `Unpin` by accident.
    #[repr(C)]
    pub struct kv_t {
        _data: [u8; 0],
        _marker: PhantomData<(*mut u8, PhantomPinned)>,
    }

    pub const KV_OK: c_int = 0;
    pub const KV_ENOTFOUND: c_int = -1;
    pub const KV_EFULL: c_int = -2;
    pub const KV_ETOOLONG: c_int = -3;
    pub const KV_ENOMEM: c_int = -4;
    pub const KV_ERANGE: c_int = -5;

    /// `kv_visit_fn`. `Option` because a C function pointer may be NULL;
    /// `Option<extern "C" fn>` has the same layout as the plain pointer.
    pub type kv_visit_fn = Option<
        unsafe extern "C" fn(
            key: *const c_char,
            value: *const c_char,
            user_data: *mut c_void,
        ) -> c_int,
    >;

    unsafe extern "C" {
        pub fn kv_new(capacity: usize) -> *mut kv_t;
        pub fn kv_free(kv: *mut kv_t);
        // TODO: declare the other functions of c/kv.h that you need:
        // kv_put, kv_get, kv_get_copy, kv_string_free, kv_remove, kv_len,
        // kv_for_each. `const char *` is `*const c_char`, `size_t` is
        // `usize`, `size_t *` is `*mut usize`, `char **` is
        // `*mut *mut c_char`, `kv_visit_fn` is the type above.
    }
}

/// What can go wrong in a call into the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KvError {
    /// `kv_new` returned NULL: a capacity of 0 or over [`MAX_CAPACITY`], or
    /// no memory.
    CreateFailed,
    /// `KV_EFULL`: a new key, and the store holds `capacity` keys already.
    Full,
    /// `KV_ETOOLONG`: a key over 255 bytes or a value over 65536 bytes.
    TooLong,
    /// `KV_ENOMEM`: the C library ran out of memory.
    OutOfMemory,
    /// A key or value contains a NUL byte, which a C string cannot hold.
    /// Detected in Rust, before calling C.
    InteriorNul,
    /// The value (or, in `for_each`, a key) is not valid UTF-8.
    InvalidUtf8,
    /// Any other code the library returned.
    Unknown(i32),
}

impl fmt::Display for KvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KvError::CreateFailed => write!(f, "the C library could not create a store"),
            KvError::Full => write!(f, "the store is full"),
            KvError::TooLong => write!(f, "key or value too long"),
            KvError::OutOfMemory => write!(f, "the C library ran out of memory"),
            KvError::InteriorNul => write!(f, "key or value contains a NUL byte"),
            KvError::InvalidUtf8 => write!(f, "the value is not valid UTF-8"),
            KvError::Unknown(code) => write!(f, "unexpected error code {code} from the C library"),
        }
    }
}

impl std::error::Error for KvError {}

/// Turns a return code of the library into a `Result`. `KV_ENOTFOUND` and
/// `KV_ERANGE` are not errors for every caller: those callers look at the
/// code before calling this.
fn check(code: c_int) -> Result<(), KvError> {
    todo!("map the library's return codes to Ok(()) or a KvError")
}

/// A C string for `s`, or `InteriorNul`: C would read only up to the first
/// NUL, so `"a\0b"` would silently become `"a"`.
fn c_string(s: impl AsRef<[u8]>) -> Result<CString, KvError> {
    todo!("CString::new, with its error turned into KvError::InteriorNul")
}

/// A key-value store owned by the C library, freed when dropped.
///
/// Keys are text without NUL bytes, at most 255 bytes; values are bytes
/// without NUL, at most 65536 bytes. A new key in a full store is refused.
pub struct Kv {
    // Never NULL: `new` checks what kv_new returned.
    ptr: NonNull<ffi::kv_t>,
}

// The tests need a `Kv` to move to another thread (Send) and to be read
// from several threads at once (Sync). That is only sound if the C library
// allows it, and if the methods below keep its rules.
// TODO: read "Threads" in c/kv.h and replace this line with the argument.
// SAFETY: ...
unsafe impl Send for Kv {}
unsafe impl Sync for Kv {}

impl Kv {
    /// A new, empty store for up to `capacity` keys.
    ///
    /// `Err(KvError::CreateFailed)` if the library refuses (a capacity of 0
    /// or over [`MAX_CAPACITY`]) or runs out of memory.
    pub fn new(capacity: usize) -> Result<Kv, KvError> {
        todo!("call kv_new and check what it returns")
    }

    /// Sets `key` to `value`, replacing the value of an existing key.
    ///
    /// Errors: [`KvError::InteriorNul`] if either contains a NUL byte (the
    /// store is not changed), and the library's errors: [`KvError::Full`],
    /// [`KvError::TooLong`], [`KvError::OutOfMemory`].
    pub fn put(&mut self, key: &str, value: impl AsRef<[u8]>) -> Result<(), KvError> {
        todo!("convert both to C strings and call kv_put")
    }

    /// The value of `key` as text, or `None` if the key is not there.
    ///
    /// Errors: [`KvError::InvalidUtf8`] if the value is not valid UTF-8
    /// (use [`Kv::get_bytes`] for those), [`KvError::InteriorNul`] for a key
    /// with a NUL byte, [`KvError::OutOfMemory`].
    ///
    /// Uses `kv_get_copy`: the library allocates the copy, and it must go
    /// back to the library's `kv_string_free`, in every case.
    pub fn get(&self, key: &str) -> Result<Option<String>, KvError> {
        todo!("kv_get_copy, then kv_string_free")
    }

    /// The value of `key` as bytes, whatever they are, or `None`.
    ///
    /// Uses `kv_get`, which copies into a buffer that Rust owns; a value of
    /// any length (up to 65536 bytes) is returned whole.
    pub fn get_bytes(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        todo!("kv_get into a Vec<u8>, bigger on KV_ERANGE")
    }

    /// Removes `key`. `Ok(true)` if it was there, `Ok(false)` if not.
    pub fn remove(&mut self, key: &str) -> Result<bool, KvError> {
        todo!("kv_remove")
    }

    /// The number of keys in the store.
    pub fn len(&self) -> usize {
        todo!("kv_len")
    }

    /// Whether the store holds no key.
    pub fn is_empty(&self) -> bool {
        todo!("len() == 0")
    }

    /// Calls `f(key, value)` for every entry, in no particular order.
    ///
    /// If `f` panics, the visit stops and the panic continues in the caller
    /// of `for_each`, after the C code has returned: it never unwinds
    /// through C. A key that is not UTF-8 stops the visit with
    /// [`KvError::InvalidUtf8`].
    pub fn for_each<F>(&self, f: F) -> Result<(), KvError>
    where
        F: FnMut(&str, &[u8]),
    {
        // TODO: hand kv_for_each a trampoline (an `extern "C" fn`, generic
        // over F) and a pointer to state it shares with you through
        // user_data: the closure, and whatever the trampoline must report
        // back. A panic must not unwind out of the trampoline.
        todo!("call kv_for_each with a trampoline")
    }
}

// TODO: the trampoline for for_each, and the state it shares with it.

impl Drop for Kv {
    fn drop(&mut self) {
        // TODO: give the store back to the C library.
    }
}

/// Called from C (`c/calls_rust.c`): the length of the longest prefix of
/// `data[..len]` that is valid UTF-8. `data` may be NULL when `len` is 0.
///
/// # Safety
///
/// Unless `len` is 0, `data` must point to `len` readable bytes that nobody
/// writes during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ex18_utf8_valid_prefix(data: *const u8, len: usize) -> usize {
    todo!("the longest valid UTF-8 prefix of data[..len]")
}

/// `a + b + carry` as a 64-bit sum and the carry out of it: one step of
/// adding numbers that span several `u64`s. Inline assembly (`adc`) on
/// x86_64, [`add_with_carry_portable`] elsewhere.
pub fn add_with_carry(a: u64, b: u64, carry: bool) -> (u64, bool) {
    // TODO: on x86_64 (#[cfg(target_arch = "x86_64")]), inline assembly
    // with `adc`; on other targets, call add_with_carry_portable.
    todo!("add with carry in asm!")
}

/// The same as [`add_with_carry`], in plain Rust for every target.
pub fn add_with_carry_portable(a: u64, b: u64, carry: bool) -> (u64, bool) {
    todo!("add with carry in plain Rust")
}
