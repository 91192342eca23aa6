//! # Exercise 18: a safe wrapper over a C library (reference solution)
//!
//! Compare with your own version once your tests are green
//! (`cargo course solution 18 --diff`). Apart from this header, the
//! declarations in `mod ffi`, the SAFETY comment on `Send`/`Sync` and the
//! private items, only the bodies differ from the stub.
//!
//! `c/kv.c` (in `exercises/18-ffi/`) is a small key-value store written in
//! C; `build.rs` compiles it with the `cc` crate. This crate makes it safe to
//! use from Rust:
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
//! ```text
//! cargo test -p solution-18
//! ```

use std::any::Any;
use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::ptr::{self, NonNull};

/// The most keys a store may hold (`KV_MAX_CAPACITY` in `c/kv.h`).
pub const MAX_CAPACITY: usize = 65536;

// ANCHOR: ffi
/// Hand-written declarations of `c/kv.h`: what bindgen would generate.
#[allow(non_camel_case_types)] // the C names, as in kv.h
mod ffi {
    use std::ffi::{c_char, c_int, c_long, c_void};
    use std::marker::{PhantomData, PhantomPinned};

    // ANCHOR: opaque
    /// `kv_t`: opaque. Rust never sees its fields and never makes one; it
    /// only holds pointers to stores that C made. The marker keeps it from
    /// being `Send`, `Sync` or `Unpin` by accident.
    #[repr(C)]
    pub struct kv_t {
        _data: [u8; 0],
        _marker: PhantomData<(*mut u8, PhantomPinned)>,
    }
    // ANCHOR_END: opaque

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
        pub fn kv_put(kv: *mut kv_t, key: *const c_char, value: *const c_char) -> c_int;
        pub fn kv_get(
            kv: *const kv_t,
            key: *const c_char,
            buf: *mut c_char,
            buf_len: usize,
            value_len: *mut usize,
        ) -> c_int;
        pub fn kv_get_copy(kv: *const kv_t, key: *const c_char, out: *mut *mut c_char) -> c_int;
        pub fn kv_string_free(s: *mut c_char);
        pub fn kv_remove(kv: *mut kv_t, key: *const c_char) -> c_int;
        pub fn kv_len(kv: *const kv_t) -> usize;
        pub fn kv_for_each(kv: *const kv_t, visit: kv_visit_fn, user_data: *mut c_void) -> c_int;
        // Takes nothing and cannot misbehave: callable without `unsafe`.
        #[allow(dead_code)] // only the tests call it
        pub safe fn kv_live_count() -> c_long;
    }
}
// ANCHOR_END: ffi

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

// ANCHOR: check
/// Turns a return code of the library into a `Result`. `KV_ENOTFOUND` and
/// `KV_ERANGE` are not errors for every caller: those callers look at the
/// code before calling this.
fn check(code: c_int) -> Result<(), KvError> {
    match code {
        ffi::KV_OK => Ok(()),
        ffi::KV_EFULL => Err(KvError::Full),
        ffi::KV_ETOOLONG => Err(KvError::TooLong),
        ffi::KV_ENOMEM => Err(KvError::OutOfMemory),
        other => Err(KvError::Unknown(other)),
    }
}
// ANCHOR_END: check

/// A C string for `s`, or `InteriorNul`: C would read only up to the first
/// NUL, so `"a\0b"` would silently become `"a"`.
fn c_string(s: impl AsRef<[u8]>) -> Result<CString, KvError> {
    CString::new(s.as_ref()).map_err(|_| KvError::InteriorNul)
}

// ANCHOR: kv
/// A key-value store owned by the C library, freed when dropped.
///
/// Keys are text without NUL bytes, at most 255 bytes; values are bytes
/// without NUL, at most 65536 bytes. A new key in a full store is refused.
pub struct Kv {
    // Never NULL: `new` checks what kv_new returned.
    ptr: NonNull<ffi::kv_t>,
}
// ANCHOR_END: kv

// ANCHOR: send
// SAFETY: kv.h says a store has no thread affinity: it may be used and
// freed on any thread, so moving a `Kv` to another thread is fine (Send).
// It is not synchronised, but it allows any number of readers at once as
// long as nobody writes: functions taking `const kv_t *` only read. The
// methods of `Kv` keep exactly that rule, because only `&mut self` methods
// (put, remove) and drop call functions that take `kv_t *`, and Rust never
// lets a `&mut Kv` exist beside a `&Kv`. So sharing `&Kv` between threads
// is fine too (Sync). (kv_live_count is per thread; it is a test aid only.)
unsafe impl Send for Kv {}
unsafe impl Sync for Kv {}
// ANCHOR_END: send

impl Kv {
    // ANCHOR: new
    /// A new, empty store for up to `capacity` keys.
    ///
    /// `Err(KvError::CreateFailed)` if the library refuses (a capacity of 0
    /// or over [`MAX_CAPACITY`]) or runs out of memory.
    pub fn new(capacity: usize) -> Result<Kv, KvError> {
        // SAFETY: kv_new has no preconditions; it returns a new store or NULL.
        let raw = unsafe { ffi::kv_new(capacity) };
        NonNull::new(raw)
            .map(|ptr| Kv { ptr })
            .ok_or(KvError::CreateFailed)
    }
    // ANCHOR_END: new

    // ANCHOR: put
    /// Sets `key` to `value`, replacing the value of an existing key.
    ///
    /// Errors: [`KvError::InteriorNul`] if either contains a NUL byte (the
    /// store is not changed), and the library's errors: [`KvError::Full`],
    /// [`KvError::TooLong`], [`KvError::OutOfMemory`].
    pub fn put(&mut self, key: &str, value: impl AsRef<[u8]>) -> Result<(), KvError> {
        let key = c_string(key)?;
        let value = c_string(value)?;
        // SAFETY: self.ptr is a live store, and `&mut self` means no other
        // call on it runs now. Both strings are NUL-terminated and outlive
        // the call (they are dropped at the end of this function, not of
        // this statement); kv_put copies them and keeps no pointer.
        check(unsafe { ffi::kv_put(self.ptr.as_ptr(), key.as_ptr(), value.as_ptr()) })
    }
    // ANCHOR_END: put

    // ANCHOR: get
    /// The value of `key` as text, or `None` if the key is not there.
    ///
    /// Errors: [`KvError::InvalidUtf8`] if the value is not valid UTF-8
    /// (use [`Kv::get_bytes`] for those), [`KvError::InteriorNul`] for a key
    /// with a NUL byte, [`KvError::OutOfMemory`].
    ///
    /// Uses `kv_get_copy`: the library allocates the copy, and it must go
    /// back to the library's `kv_string_free`, in every case.
    pub fn get(&self, key: &str) -> Result<Option<String>, KvError> {
        let key = c_string(key)?;
        let mut out: *mut c_char = ptr::null_mut();
        // SAFETY: a live store, read-only (`&self`); `key` is a C string;
        // `out` is a valid place for kv_get_copy to write a pointer to.
        let code = unsafe { ffi::kv_get_copy(self.ptr.as_ptr(), key.as_ptr(), &mut out) };
        if code == ffi::KV_ENOTFOUND {
            return Ok(None);
        }
        check(code)?;
        // SAFETY: on KV_OK, `out` is a NUL-terminated string that we own
        // until we give it to kv_string_free below.
        let text = unsafe { CStr::from_ptr(out) }
            .to_str()
            .map(str::to_owned)
            .map_err(|_| KvError::InvalidUtf8);
        // Copied (or refused) above: now give the C string back to C, on the
        // error path too. Not CString::from_raw: that is for strings that
        // Rust allocated.
        // SAFETY: `out` came from kv_get_copy and is freed exactly once.
        unsafe { ffi::kv_string_free(out) };
        text.map(Some)
    }
    // ANCHOR_END: get

    // ANCHOR: get_bytes
    /// The value of `key` as bytes, whatever they are, or `None`.
    ///
    /// Uses `kv_get`, which copies into a buffer that Rust owns; a value of
    /// any length (up to 65536 bytes) is returned whole.
    pub fn get_bytes(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        let key = c_string(key)?;
        // A first guess that fits most values; kv_get says if it is too small.
        let mut buf: Vec<u8> = vec![0; 64];
        loop {
            let mut len = 0usize;
            // SAFETY: a live store, read-only; `buf` is writable for
            // buf.len() bytes, which is what we tell kv_get; `len` is a
            // valid place for the value's length.
            let code = unsafe {
                ffi::kv_get(
                    self.ptr.as_ptr(),
                    key.as_ptr(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    &mut len,
                )
            };
            match code {
                ffi::KV_ENOTFOUND => return Ok(None),
                // Too small: kv_get told us the length; room for the NUL too.
                ffi::KV_ERANGE => buf.resize(len + 1, 0),
                code => {
                    check(code)?;
                    buf.truncate(len); // the value, without its NUL
                    return Ok(Some(buf));
                }
            }
        }
    }
    // ANCHOR_END: get_bytes

    /// Removes `key`. `Ok(true)` if it was there, `Ok(false)` if not.
    pub fn remove(&mut self, key: &str) -> Result<bool, KvError> {
        let key = c_string(key)?;
        // SAFETY: a live store, `&mut self`; `key` is a C string.
        match unsafe { ffi::kv_remove(self.ptr.as_ptr(), key.as_ptr()) } {
            ffi::KV_ENOTFOUND => Ok(false),
            code => check(code).map(|()| true),
        }
    }

    /// The number of keys in the store.
    pub fn len(&self) -> usize {
        // SAFETY: a live store, read-only.
        unsafe { ffi::kv_len(self.ptr.as_ptr()) }
    }

    /// Whether the store holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    // ANCHOR: for_each
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
        let mut visit = Visit {
            f,
            panic: None,
            bad_key: false,
        };
        // SAFETY: a live store, read-only. `trampoline::<F>` matches
        // kv_visit_fn, and `user_data` points to `visit`, which lives on
        // this stack frame until kv_for_each has returned; C keeps neither
        // pointer after that.
        let code = unsafe {
            ffi::kv_for_each(
                self.ptr.as_ptr(),
                Some(trampoline::<F>),
                (&raw mut visit).cast(),
            )
        };
        // Back in Rust with no C frame in between: let the panic go on.
        if let Some(payload) = visit.panic {
            panic::resume_unwind(payload);
        }
        if visit.bad_key {
            return Err(KvError::InvalidUtf8);
        }
        // The trampoline stops early only for the two reasons above.
        check(code)
    }
    // ANCHOR_END: for_each
}

// ANCHOR: trampoline
/// What `for_each` shares with its trampoline through `user_data`.
struct Visit<F> {
    f: F,
    /// A panic caught in `f`, to resume once C has returned.
    panic: Option<Box<dyn Any + Send>>,
    bad_key: bool,
}

/// The C callback: an `extern "C" fn` that C can call, generic over the
/// closure's type, so each closure gets its own trampoline. Returns 0 to go
/// on, 1 to stop.
unsafe extern "C" fn trampoline<F>(
    key: *const c_char,
    value: *const c_char,
    user_data: *mut c_void,
) -> c_int
where
    F: FnMut(&str, &[u8]),
{
    // SAFETY: user_data is the `&mut Visit<F>` that for_each passed to
    // kv_for_each, alive and not otherwise used during this call.
    let visit = unsafe { &mut *user_data.cast::<Visit<F>>() };
    // SAFETY: kv_for_each passes the entry's NUL-terminated key and value,
    // valid during this call; the borrows below do not outlive it.
    let (key, value) = unsafe { (CStr::from_ptr(key), CStr::from_ptr(value)) };
    let Ok(key) = key.to_str() else {
        visit.bad_key = true;
        return 1;
    };
    // A panic must not leave an `extern "C"` function: Rust would abort
    // the process. Catch it here and carry it back to for_each.
    // AssertUnwindSafe: after a panic we never call `f` again.
    match panic::catch_unwind(AssertUnwindSafe(|| (visit.f)(key, value.to_bytes()))) {
        Ok(()) => 0,
        Err(payload) => {
            visit.panic = Some(payload);
            1
        }
    }
}
// ANCHOR_END: trampoline

// ANCHOR: drop
impl Drop for Kv {
    fn drop(&mut self) {
        // SAFETY: self.ptr came from kv_new and is freed only here, once;
        // after drop nothing can use it.
        unsafe { ffi::kv_free(self.ptr.as_ptr()) }
    }
}
// ANCHOR_END: drop

// ANCHOR: export
/// Called from C (`c/calls_rust.c`): the length of the longest prefix of
/// `data[..len]` that is valid UTF-8. `data` may be NULL when `len` is 0.
///
/// # Safety
///
/// Unless `len` is 0, `data` must point to `len` readable bytes that nobody
/// writes during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ex18_utf8_valid_prefix(data: *const u8, len: usize) -> usize {
    // C passes (NULL, 0) for "nothing"; a Rust slice may never have a NULL
    // pointer, not even an empty one.
    if len == 0 {
        return 0;
    }
    // SAFETY: the caller promises `len` readable bytes at `data` (non-NULL
    // since len > 0), unchanged during the call.
    let bytes = unsafe { std::slice::from_raw_parts(data, len) };
    match std::str::from_utf8(bytes) {
        Ok(_) => len,
        Err(e) => e.valid_up_to(),
    }
}
// ANCHOR_END: export

// ANCHOR: asm
/// `a + b + carry` as a 64-bit sum and the carry out of it: one step of
/// adding numbers that span several `u64`s. Inline assembly (`adc`) on
/// x86_64, [`add_with_carry_portable`] elsewhere.
pub fn add_with_carry(a: u64, b: u64, carry: bool) -> (u64, bool) {
    #[cfg(target_arch = "x86_64")]
    {
        let sum: u64;
        let carry_out: u8;
        // SAFETY: only registers are read and written (nomem, nostack), and
        // the flags, which asm! assumes clobbered unless told otherwise.
        unsafe {
            std::arch::asm!(
                "bt {c:e}, 0",       // CF = bit 0 of c: the carry in
                "adc {sum}, {b}",    // sum = a + b + CF, CF = the carry out
                "setc {out}",        // out = CF
                c = in(reg) u32::from(carry),
                sum = inout(reg) a => sum,
                b = in(reg) b,
                out = out(reg_byte) carry_out,
                options(pure, nomem, nostack),
            );
        }
        (sum, carry_out != 0)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        add_with_carry_portable(a, b, carry)
    }
}

/// The same as [`add_with_carry`], in plain Rust for every target.
pub fn add_with_carry_portable(a: u64, b: u64, carry: bool) -> (u64, bool) {
    let (sum, c1) = a.overflowing_add(b);
    let (sum, c2) = sum.overflowing_add(u64::from(carry));
    // At most one of the two additions can overflow.
    (sum, c1 | c2)
}
// ANCHOR_END: asm
