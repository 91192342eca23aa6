//! The specification of exercise 18: a safe Rust wrapper over the C library
//! in `c/kv.c`, a Rust function that C calls, and an `asm!` function.
//!
//! Two tests run their body in a child process (this test binary again,
//! running just that test): when a panic tries to leave an `extern "C"`
//! function, Rust aborts the whole process, and that must fail one test,
//! not end the run.

use std::ffi::c_long;
use std::os::unix::process::ExitStatusExt;
use std::panic::{self, AssertUnwindSafe};
use std::process::Command;
use std::thread;
use std::time::Duration;

use exercise_18::{Kv, KvError, MAX_CAPACITY, add_with_carry, add_with_carry_portable};
use testkit::{LIMIT, within};

// Two functions of the C library that the tests call directly.
unsafe extern "C" {
    /// `c/kv.h`: stores and `kv_get_copy` strings that this thread created,
    /// minus those it freed. It takes nothing and cannot misbehave: `safe`.
    safe fn kv_live_count() -> c_long;
    /// `c/calls_rust.c`: asks `ex18_utf8_valid_prefix` about six samples,
    /// from C, and writes the answers to `out[..n]`.
    unsafe fn kv_demo_ask_rust(out: *mut usize, n: usize) -> usize;
}

#[track_caller]
fn new_store(capacity: usize) -> Kv {
    match Kv::new(capacity) {
        Ok(kv) => kv,
        Err(e) => panic!("Kv::new({capacity}) failed with {e:?}; expected a store"),
    }
}

#[track_caller]
fn put(kv: &mut Kv, key: &str, value: &str) {
    if let Err(e) = kv.put(key, value) {
        panic!("put({key:?}, {value:?}) failed with {e:?}; expected Ok(())");
    }
}

/// Runs `body` in a child process (this test binary, running only `test`)
/// and fails if the child fails or dies. In the child, runs `body` itself.
#[track_caller]
fn in_child_process(test: &'static str, expected: &'static str, body: fn()) {
    if std::env::var("EX18_CHILD").as_deref() == Ok(test) {
        within(LIMIT, expected, body);
        return;
    }
    let exe = std::env::current_exe().expect("the path of this test binary");
    let output = within(LIMIT + Duration::from_secs(5), expected, move || {
        Command::new(exe)
            .args([test, "--exact", "--nocapture", "--test-threads=1"])
            .env("EX18_CHILD", test)
            .output()
            .expect("starting this test binary again as a child process")
    });
    if output.status.success() {
        return;
    }
    // The first lines hold the panic messages; a backtrace can go on for long.
    let stderr: String = String::from_utf8_lossy(&output.stderr)
        .lines()
        .take(30)
        .map(|line| format!("{line}\n"))
        .collect();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let died = match output.status.signal() {
        Some(6) => {
            "the process ABORTED (SIGABRT). A panic that tries to leave an \
             `extern \"C\"` function aborts the process: catch it inside \
             (std::panic::catch_unwind) and report it on the Rust side. A \
             `todo!()` there aborts too."
        }
        Some(_) => "the process was killed by a signal (a crash: check pointers and lengths)",
        None => "the test failed in the child process",
    };
    panic!(
        "{expected}: {died} (status {:?})\n--- the child's stderr:\n{stderr}\n--- its stdout:\n{stdout}",
        output.status
    );
}

// --- the store --------------------------------------------------------

#[test]
fn a_new_store_is_empty() {
    within(LIMIT, "a new store with no keys", || {
        let kv = new_store(4);
        assert_eq!(kv.len(), 0, "len() of a new store");
        assert!(kv.is_empty(), "is_empty() of a new store");
        assert_eq!(kv.get("missing"), Ok(None), "get of a key never put");
    });
}

#[test]
fn new_reports_a_store_the_library_refuses_to_create() {
    within(LIMIT, "Kv::new to check kv_new's NULL", || {
        for capacity in [0, MAX_CAPACITY + 1] {
            assert!(
                matches!(Kv::new(capacity), Err(KvError::CreateFailed)),
                "kv_new returns NULL for a capacity of {capacity}: Kv::new must \
                 return Err(KvError::CreateFailed), not wrap the NULL"
            );
        }
    });
}

#[test]
fn put_then_get_returns_the_value() {
    within(LIMIT, "put and get round trip", || {
        let mut kv = new_store(4);
        put(&mut kv, "greeting", "hello");
        put(&mut kv, "crab", "🦀 ferris");
        put(&mut kv, "", "the empty key is a key too");
        assert_eq!(kv.get("greeting"), Ok(Some("hello".to_owned())));
        assert_eq!(kv.get("crab"), Ok(Some("🦀 ferris".to_owned())));
        assert_eq!(
            kv.get(""),
            Ok(Some("the empty key is a key too".to_owned()))
        );
        assert_eq!(kv.len(), 3, "three keys were put");
    });
}

#[test]
fn put_replaces_the_value_of_an_existing_key() {
    within(LIMIT, "put on an existing key replaces its value", || {
        let mut kv = new_store(4);
        put(&mut kv, "k", "old");
        put(&mut kv, "k", "new");
        assert_eq!(kv.get("k"), Ok(Some("new".to_owned())));
        assert_eq!(kv.len(), 1, "replacing a value does not add a key");
    });
}

#[test]
fn remove_deletes_a_key_and_says_whether_it_was_there() {
    within(LIMIT, "remove", || {
        let mut kv = new_store(4);
        put(&mut kv, "a", "1");
        put(&mut kv, "b", "2");
        assert_eq!(kv.remove("a"), Ok(true), "removing a key that is there");
        assert_eq!(kv.remove("a"), Ok(false), "removing it again: not there");
        assert_eq!(kv.get("a"), Ok(None), "a removed key is gone");
        assert_eq!(kv.get("b"), Ok(Some("2".to_owned())), "the other key stays");
        assert_eq!(kv.len(), 1);
    });
}

#[test]
fn put_into_a_full_store_is_an_error() {
    within(LIMIT, "KV_EFULL to become Err(KvError::Full)", || {
        let mut kv = new_store(2);
        put(&mut kv, "a", "1");
        put(&mut kv, "b", "2");
        assert_eq!(
            kv.put("c", "3"),
            Err(KvError::Full),
            "a third key in a store of capacity 2: kv_put returns KV_EFULL, \
             which put must not ignore"
        );
        assert_eq!(kv.get("c"), Ok(None), "the refused key is not stored");
        assert_eq!(
            kv.put("a", "one"),
            Ok(()),
            "replacing the value of an existing key needs no room"
        );
        assert_eq!(kv.len(), 2);
    });
}

#[test]
fn put_rejects_an_over_long_key_or_value() {
    within(LIMIT, "KV_ETOOLONG to become Err(KvError::TooLong)", || {
        let mut kv = new_store(4);
        let key_255 = "k".repeat(255);
        let key_256 = "k".repeat(256);
        assert_eq!(
            kv.put(&key_255, "v"),
            Ok(()),
            "a key of 255 bytes is allowed"
        );
        assert_eq!(
            kv.put(&key_256, "v"),
            Err(KvError::TooLong),
            "a key of 256 bytes: kv_put returns KV_ETOOLONG"
        );
        assert_eq!(
            kv.put("v", "x".repeat(65537)),
            Err(KvError::TooLong),
            "a value of 65537 bytes: kv_put returns KV_ETOOLONG"
        );
        assert_eq!(kv.len(), 1, "only the 255-byte key was stored");
    });
}

#[test]
fn put_rejects_a_key_or_value_with_an_interior_nul() {
    within(LIMIT, "a NUL inside a key or value to be refused", || {
        let mut kv = new_store(4);
        assert_eq!(
            kv.put("user\0admin", "x"),
            Err(KvError::InteriorNul),
            "C would read the key only up to its NUL and store \"user\": refuse it"
        );
        assert_eq!(
            kv.put("k", "before\0after"),
            Err(KvError::InteriorNul),
            "a value with a NUL would lose everything after it: refuse it"
        );
        assert_eq!(kv.get("user"), Ok(None), "no truncated key was stored");
        assert_eq!(kv.get("k"), Ok(None), "no truncated value was stored");
        assert!(kv.is_empty(), "refused puts change nothing");
    });
}

#[test]
fn get_and_remove_reject_a_key_with_an_interior_nul() {
    within(
        LIMIT,
        "a NUL inside a key to be refused by every method",
        || {
            let mut kv = new_store(4);
            put(&mut kv, "a", "1");
            assert_eq!(kv.get("a\0b"), Err(KvError::InteriorNul), "get(\"a\\0b\")");
            assert_eq!(
                kv.get_bytes("a\0b"),
                Err(KvError::InteriorNul),
                "get_bytes(\"a\\0b\")"
            );
            assert_eq!(
                kv.remove("a\0b"),
                Err(KvError::InteriorNul),
                "remove(\"a\\0b\")"
            );
            assert_eq!(
                kv.get("a"),
                Ok(Some("1".to_owned())),
                "\"a\" was not removed"
            );
        },
    );
}

#[test]
fn get_reports_a_value_that_is_not_utf8() {
    within(
        LIMIT,
        "bytes from C that are not UTF-8 to be an error",
        || {
            let mut kv = new_store(4);
            let latin1 = b"caf\xe9"; // "café" in Latin-1: not UTF-8
            assert_eq!(
                kv.put("old", latin1),
                Ok(()),
                "values are bytes: put accepts them"
            );
            assert_eq!(
                kv.get("old"),
                Err(KvError::InvalidUtf8),
                "get returns text, and these bytes are not UTF-8"
            );
            assert_eq!(
                kv.get_bytes("old"),
                Ok(Some(latin1.to_vec())),
                "get_bytes returns the bytes as they are"
            );
        },
    );
}

#[test]
fn get_bytes_returns_values_of_every_length() {
    within(
        LIMIT,
        "get_bytes to return whole values, short and long",
        || {
            let mut kv = new_store(8);
            assert_eq!(kv.get_bytes("missing"), Ok(None), "a missing key");
            // Every length up to 300, then long ones: whatever size of buffer
            // you try first, some of these do not fit in it.
            let lengths = (0..=300).chain([1000, 4095, 4096, 4097, 60_000, 65_536]);
            for len in lengths {
                let value: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
                assert_eq!(kv.put("k", &value), Ok(()), "put of {len} bytes");
                let got = kv.get_bytes("k");
                assert!(
                    got.as_ref().is_ok_and(|v| v.as_deref() == Some(&value[..])),
                    "get_bytes of a value of {len} bytes returned {:?} (first bytes); \
                 when kv_get says KV_ERANGE, it has set the length: grow the buffer and ask again",
                    got.map(|v| v.map(|v| v.into_iter().take(20).collect::<Vec<_>>()))
                );
            }
        },
    );
}

#[test]
fn dropping_a_store_frees_it() {
    within(LIMIT, "Drop to call kv_free", || {
        let before = kv_live_count();
        let mut kv = new_store(4);
        put(&mut kv, "a", "1");
        assert_eq!(kv_live_count(), before + 1, "one store is alive");
        drop(kv);
        assert_eq!(
            kv_live_count(),
            before,
            "the dropped store is still alive in C: Drop must call kv_free"
        );
        for _ in 0..10 {
            let _ = new_store(4);
        }
        assert_eq!(kv_live_count(), before, "ten stores created and dropped");
    });
}

#[test]
fn get_frees_the_string_the_library_returned() {
    within(
        LIMIT,
        "get to give kv_get_copy's string back to kv_string_free",
        || {
            let mut kv = new_store(4);
            put(&mut kv, "k", "value");
            assert_eq!(kv.put("old", b"caf\xe9"), Ok(()));
            let before = kv_live_count();
            for _ in 0..3 {
                assert_eq!(kv.get("k"), Ok(Some("value".to_owned())));
                assert_eq!(kv.get("old"), Err(KvError::InvalidUtf8));
            }
            assert_eq!(
                kv_live_count(),
                before,
                "strings from kv_get_copy were not given back to kv_string_free \
             (leaked, or freed by another allocator), also on the error path"
            );
        },
    );
}

#[test]
fn for_each_visits_every_entry_once() {
    within(LIMIT, "for_each to call the closure for each entry", || {
        let mut kv = new_store(8);
        let mut none = 0;
        assert_eq!(kv.for_each(|_, _| none += 1), Ok(()));
        assert_eq!(none, 0, "an empty store has nothing to visit");

        put(&mut kv, "one", "1");
        put(&mut kv, "two", "2");
        kv.put("three", b"\xff3").unwrap();
        let mut seen = Vec::new();
        assert_eq!(
            kv.for_each(|key, value| seen.push((key.to_owned(), value.to_vec()))),
            Ok(())
        );
        seen.sort();
        assert_eq!(
            seen,
            [
                ("one".to_owned(), b"1".to_vec()),
                ("three".to_owned(), b"\xff3".to_vec()),
                ("two".to_owned(), b"2".to_vec()),
            ],
            "each entry once, values as bytes"
        );
    });
}

#[test]
fn a_panic_in_the_callback_reaches_the_caller_and_stops_the_visit() {
    in_child_process(
        "a_panic_in_the_callback_reaches_the_caller_and_stops_the_visit",
        "a panic in the closure to reach for_each's caller without unwinding through C",
        || {
            let mut kv = new_store(8);
            for key in ["a", "b", "c"] {
                put(&mut kv, key, key);
            }
            let mut calls = 0;
            let result = panic::catch_unwind(AssertUnwindSafe(|| {
                let _ = kv.for_each(|_, _| {
                    calls += 1;
                    panic!("boom from the callback");
                });
            }));
            let payload = match result {
                Err(payload) => payload,
                Ok(()) => panic!(
                    "for_each returned normally although the closure panicked: \
                     resume the panic in for_each once C has returned"
                ),
            };
            let message = payload
                .downcast_ref::<&str>()
                .copied()
                .or(payload.downcast_ref::<String>().map(String::as_str));
            assert_eq!(
                message,
                Some("boom from the callback"),
                "the caller should see the closure's own panic"
            );
            assert_eq!(calls, 1, "the visit should stop at the first panic");
            assert_eq!(kv.len(), 3, "the store is still usable after the panic");
            assert_eq!(kv.get("b"), Ok(Some("b".to_owned())));
        },
    );
}

#[test]
fn a_store_can_move_between_threads_and_be_read_from_several() {
    within(LIMIT, "Kv to be Send and Sync", || {
        let mut kv = new_store(8);
        put(&mut kv, "k", "v");
        // Send: the store moves to another thread, is used there, comes back.
        let kv = thread::spawn(move || {
            put(&mut kv, "moved", "yes");
            kv
        })
        .join()
        .expect("the thread using the store panicked");
        // Sync: several threads read it at once through `&Kv`.
        thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..100 {
                        assert_eq!(kv.get("k"), Ok(Some("v".to_owned())));
                        assert_eq!(kv.get_bytes("moved"), Ok(Some(b"yes".to_vec())));
                    }
                });
            }
        });
    });
}

// --- C calls Rust -------------------------------------------------------

#[test]
fn c_code_can_call_the_exported_function() {
    in_child_process(
        "c_code_can_call_the_exported_function",
        "C code in c/calls_rust.c to call ex18_utf8_valid_prefix",
        || {
            let mut answers = [usize::MAX; 8];
            // SAFETY: `answers` has room for answers.len() values.
            let n = unsafe { kv_demo_ask_rust(answers.as_mut_ptr(), answers.len()) };
            assert_eq!(
                &answers[..n],
                &[5, 6, 2, 2, 0, 5],
                "answers to C's samples (see c/calls_rust.c): \"hello\", \"h\\xc3\\xa9llo\", \
                 \"ab\\xff\" \"cd\", \"ab\\xe2\\x82\", (NULL, 0), \"\\xf0\\x9f\\xa6\\x80!\""
            );
        },
    );
}

// --- inline assembly -----------------------------------------------------

/// A fixed sequence of pseudo-random numbers (xorshift64*).
struct Numbers(u64);

impl Numbers {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

const EDGES: [u64; 6] = [0, 1, 2, u64::MAX / 2, u64::MAX - 1, u64::MAX];

#[test]
fn add_with_carry_portable_is_exact() {
    within(LIMIT, "the portable add with carry", || {
        let mut numbers = Numbers(0x9e37_79b9_7f4a_7c15);
        let randoms: Vec<u64> = (0..200).map(|_| numbers.next()).collect();
        for &a in EDGES.iter().chain(&randoms) {
            for &b in EDGES.iter().chain(&randoms[..20]) {
                for carry in [false, true] {
                    let exact = u128::from(a) + u128::from(b) + u128::from(carry);
                    let want = (exact as u64, exact > u128::from(u64::MAX));
                    assert_eq!(
                        add_with_carry_portable(a, b, carry),
                        want,
                        "add_with_carry_portable({a:#x}, {b:#x}, {carry}): (low 64 bits, carry out)"
                    );
                }
            }
        }
    });
}

#[test]
fn add_with_carry_matches_the_portable_version() {
    within(
        LIMIT,
        "add_with_carry (asm on x86_64) to agree with the portable one",
        || {
            let mut numbers = Numbers(0x2545_f491_4f6c_dd1d);
            let randoms: Vec<u64> = (0..200_000).map(|_| numbers.next()).collect();
            let pairs = EDGES
                .iter()
                .flat_map(|&a| EDGES.iter().map(move |&b| (a, b)))
                .chain(randoms.chunks(2).map(|p| (p[0], p[1])));
            for (a, b) in pairs {
                for carry in [false, true] {
                    let got = add_with_carry(a, b, carry);
                    let want = add_with_carry_portable(a, b, carry);
                    assert_eq!(got, want, "add_with_carry({a:#x}, {b:#x}, {carry})");
                }
            }
        },
    );
}
