//! The tests of exercise 22: decoding and encoding RESP.
//!
//! This test binary installs a global allocator that remembers the largest
//! single allocation made by the current thread: the hostile-input tests use
//! it to check that a huge announced length is refused (or waited for)
//! without reserving memory for it. Every test runs under testkit's watchdog
//! on its own thread, so tests running in parallel do not see each other's
//! allocations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use exercise_22::{Frame, Limits, Protocol, ProtocolError, decode, encode};
use testkit::within;

const LIMIT: Duration = Duration::from_secs(5);

// --- a global allocator that remembers the largest allocation ---------------

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

struct LargestAlloc;

fn note(size: usize) {
    // try_with: the thread-local may already be gone while a thread exits.
    let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(size)));
}

// SAFETY: every call is passed on unchanged to the system allocator; the
// wrapper only records sizes in a thread-local that never allocates.
unsafe impl GlobalAlloc for LargestAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: same layout contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: same layout contract as our caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: ptr was allocated by System with this layout (every
        // allocation of this program goes through this wrapper).
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as for realloc.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: LargestAlloc = LargestAlloc;

/// Runs `f` and returns its result with the largest single allocation (in
/// bytes) the current thread made meanwhile.
fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|largest| largest.set(0));
    let value = f();
    (value, LARGEST.with(Cell::get))
}

/// No test input needs a single allocation this large.
const SMALL: usize = 1 << 20;

// --- helpers ------------------------------------------------------------------

/// `input` as escaped text, cut short for failure messages.
fn show(input: &[u8]) -> String {
    let text = input.escape_ascii().to_string();
    if text.len() > 80 {
        format!("{}... ({} bytes)", &text[..80], input.len())
    } else {
        text
    }
}

fn bulk(data: &[u8]) -> Frame {
    Frame::Bulk(Bytes::copy_from_slice(data))
}

fn command(words: &[&str]) -> Frame {
    Frame::Array(words.iter().map(|w| bulk(w.as_bytes())).collect())
}

/// Decodes `input` as one whole buffer and expects exactly one frame, with
/// nothing left over.
#[track_caller]
fn decode_one(input: &[u8]) -> Frame {
    let mut buf = BytesMut::from(input);
    let frame = decode(&mut buf, &Limits::default());
    match frame {
        Ok(Some(frame)) => {
            assert!(
                buf.is_empty(),
                "decoding {:?} must remove the whole frame from the buffer; left: {:?}",
                show(input),
                buf
            );
            frame
        }
        other => panic!(
            "decoding {:?} should give Ok(Some(frame)), got {other:?}",
            show(input)
        ),
    }
}

/// Decodes `input` (all of it present) and expects a protocol error.
#[track_caller]
fn decode_err(input: &[u8], limits: &Limits) -> ProtocolError {
    let mut buf = BytesMut::from(input);
    match decode(&mut buf, limits) {
        Err(e) => e,
        other => panic!(
            "decoding {:?} should be a ProtocolError, got {other:?}",
            show(input)
        ),
    }
}

#[track_caller]
fn encoded(frame: &Frame, proto: Protocol) -> String {
    let mut dst = BytesMut::new();
    encode(frame, proto, &mut dst);
    String::from_utf8_lossy(&dst).into_owned()
}

/// Inputs with the frame each decodes to: every type, an inline command, a
/// bulk string holding CRLF.
fn samples() -> Vec<(&'static [u8], Frame)> {
    vec![
        (b"+OK\r\n", Frame::Simple("OK".into())),
        (
            b"-ERR unknown command 'FOO'\r\n",
            Frame::Error("ERR unknown command 'FOO'".into()),
        ),
        (b":-42\r\n", Frame::Integer(-42)),
        (b"$5\r\nhello\r\n", bulk(b"hello")),
        (b"$0\r\n\r\n", bulk(b"")),
        (b"$4\r\na\r\nb\r\n", bulk(b"a\r\nb")),
        (b"$-1\r\n", Frame::Null),
        (b"*-1\r\n", Frame::Null),
        (
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nval\r\n",
            command(&["SET", "k", "val"]),
        ),
        (
            b"*2\r\n*1\r\n:1\r\n*0\r\n",
            Frame::Array(vec![
                Frame::Array(vec![Frame::Integer(1)]),
                Frame::Array(vec![]),
            ]),
        ),
        (b"PING\r\n", command(&["PING"])),
        (b"SET k v\r\n", command(&["SET", "k", "v"])),
        (b"_\r\n", Frame::Null),
        (b"#f\r\n", Frame::Boolean(false)),
        (b",1.5\r\n", Frame::Double(1.5)),
        (
            b"%1\r\n+proto\r\n:3\r\n",
            Frame::Map(vec![(Frame::Simple("proto".into()), Frame::Integer(3))]),
        ),
        (
            b"~2\r\n+a\r\n+b\r\n",
            Frame::Set(vec![Frame::Simple("a".into()), Frame::Simple("b".into())]),
        ),
        (
            b">2\r\n+message\r\n$2\r\nhi\r\n",
            Frame::Push(vec![Frame::Simple("message".into()), bulk(b"hi")]),
        ),
    ]
}

// --- RESP2 types ----------------------------------------------------------------

#[test]
fn decodes_simple_strings_and_errors() {
    within(LIMIT, "decoding +OK and -ERR", || {
        assert_eq!(decode_one(b"+OK\r\n"), Frame::Simple("OK".into()));
        assert_eq!(
            decode_one(b"+\r\n"),
            Frame::Simple(String::new()),
            "an empty simple string"
        );
        assert_eq!(
            decode_one(b"-ERR wrong number of arguments\r\n"),
            Frame::Error("ERR wrong number of arguments".into()),
            "the Error string keeps its prefix (ERR, WRONGTYPE...) and drops the '-'"
        );
    });
}

#[test]
fn decodes_integers_including_the_extremes() {
    within(LIMIT, "decoding :integers", || {
        assert_eq!(decode_one(b":0\r\n"), Frame::Integer(0));
        assert_eq!(decode_one(b":-42\r\n"), Frame::Integer(-42));
        assert_eq!(
            decode_one(b":9223372036854775807\r\n"),
            Frame::Integer(i64::MAX)
        );
        assert_eq!(
            decode_one(b":-9223372036854775808\r\n"),
            Frame::Integer(i64::MIN)
        );
    });
}

#[test]
fn decodes_bulk_strings_with_any_bytes_inside() {
    within(LIMIT, "decoding $bulk strings", || {
        assert_eq!(decode_one(b"$5\r\nhello\r\n"), bulk(b"hello"));
        assert_eq!(
            decode_one(b"$0\r\n\r\n"),
            bulk(b""),
            "an empty bulk string is not Null"
        );
        assert_eq!(
            decode_one(b"$6\r\n\r\n\0\xff\r\n\r\n"),
            bulk(b"\r\n\0\xff\r\n"),
            "a bulk string is binary: its length says where it ends, CRLF inside is data"
        );
    });
}

#[test]
fn decodes_null_bulk_and_null_array_as_null() {
    within(LIMIT, "decoding $-1 and *-1", || {
        assert_eq!(
            decode_one(b"$-1\r\n"),
            Frame::Null,
            "$-1 is RESP2's null bulk string"
        );
        assert_eq!(
            decode_one(b"*-1\r\n"),
            Frame::Null,
            "*-1 is RESP2's null array"
        );
    });
}

#[test]
fn decodes_a_command_as_an_array_of_bulk_strings() {
    within(LIMIT, "decoding SET k val", || {
        assert_eq!(
            decode_one(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nval\r\n"),
            command(&["SET", "k", "val"])
        );
        assert_eq!(
            decode_one(b"*0\r\n"),
            Frame::Array(vec![]),
            "*0 is an empty array"
        );
    });
}

#[test]
fn decodes_nested_arrays_of_mixed_types() {
    within(LIMIT, "decoding nested arrays", || {
        assert_eq!(
            decode_one(b"*3\r\n:1\r\n*2\r\n+a\r\n$-1\r\n-ERR x\r\n"),
            Frame::Array(vec![
                Frame::Integer(1),
                Frame::Array(vec![Frame::Simple("a".into()), Frame::Null]),
                Frame::Error("ERR x".into()),
            ])
        );
    });
}

// --- RESP3 types ----------------------------------------------------------------

#[test]
fn decodes_resp3_null_booleans_and_doubles() {
    within(LIMIT, "decoding _ # and ,", || {
        assert_eq!(decode_one(b"_\r\n"), Frame::Null);
        assert_eq!(decode_one(b"#t\r\n"), Frame::Boolean(true));
        assert_eq!(decode_one(b"#f\r\n"), Frame::Boolean(false));
        assert_eq!(decode_one(b",2.25\r\n"), Frame::Double(2.25));
        assert_eq!(decode_one(b",-2\r\n"), Frame::Double(-2.0));
        assert_eq!(decode_one(b",1e300\r\n"), Frame::Double(1e300));
        assert_eq!(decode_one(b",inf\r\n"), Frame::Double(f64::INFINITY));
        assert_eq!(decode_one(b",-inf\r\n"), Frame::Double(f64::NEG_INFINITY));
        match decode_one(b",nan\r\n") {
            Frame::Double(d) => assert!(d.is_nan(), ",nan must decode to a NaN, got {d}"),
            other => panic!(",nan must decode to Frame::Double(NaN), got {other:?}"),
        }
    });
}

#[test]
fn decodes_resp3_maps_sets_and_pushes() {
    within(LIMIT, "decoding % ~ and >", || {
        assert_eq!(
            decode_one(b"%2\r\n+server\r\n+redis\r\n+proto\r\n:3\r\n"),
            Frame::Map(vec![
                (
                    Frame::Simple("server".into()),
                    Frame::Simple("redis".into())
                ),
                (Frame::Simple("proto".into()), Frame::Integer(3)),
            ]),
            "%2 announces two key-value PAIRS, four frames"
        );
        assert_eq!(
            decode_one(b"~2\r\n+a\r\n:1\r\n"),
            Frame::Set(vec![Frame::Simple("a".into()), Frame::Integer(1)])
        );
        assert_eq!(
            decode_one(b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"),
            Frame::Push(vec![bulk(b"message"), bulk(b"ch"), bulk(b"hi")])
        );
    });
}

// --- inline commands ----------------------------------------------------------

#[test]
fn decodes_an_inline_ping_like_redis_benchmark_sends() {
    within(LIMIT, "decoding the inline command PING\\r\\n", || {
        assert_eq!(
            decode_one(b"PING\r\n"),
            command(&["PING"]),
            "a line that does not start with a type byte is an inline command: Array of Bulk"
        );
    });
}

#[test]
fn decodes_inline_commands_split_at_blanks() {
    within(LIMIT, "decoding inline commands with arguments", || {
        assert_eq!(decode_one(b"SET k v\r\n"), command(&["SET", "k", "v"]));
        assert_eq!(
            decode_one(b"  GET \t key  \r\n"),
            command(&["GET", "key"]),
            "runs of spaces and tabs separate words; leading and trailing blanks are ignored"
        );
        assert_eq!(
            decode_one(b"PING\n"),
            command(&["PING"]),
            "an inline command may end in a bare \\n"
        );
    });
}

#[test]
fn skips_blank_inline_lines() {
    within(LIMIT, "skipping blank lines between commands", || {
        let mut buf = BytesMut::from(&b"\r\n  \r\n\nPING\r\n"[..]);
        assert_eq!(
            decode(&mut buf, &Limits::default()),
            Ok(Some(command(&["PING"]))),
            "blank lines (a telnet user pressing Enter) are skipped, as Redis does"
        );
        assert!(buf.is_empty());
        let mut blank = BytesMut::from(&b"\r\n"[..]);
        assert_eq!(
            decode(&mut blank, &Limits::default()),
            Ok(None),
            "only a blank line: no command yet"
        );
    });
}

// --- incremental decoding and pipelining -------------------------------------

#[test]
fn incomplete_input_gives_none_and_leaves_the_buffer_untouched() {
    within(LIMIT, "decoding half a frame", || {
        let input = b"*2\r\n$3\r\nGET\r\n$5\r\nhel";
        let mut buf = BytesMut::from(&input[..]);
        assert_eq!(decode(&mut buf, &Limits::default()), Ok(None));
        assert_eq!(
            &buf[..],
            &input[..],
            "Ok(None) must leave every byte in the buffer for the next call"
        );
    });
}

#[test]
fn decodes_input_split_at_every_byte_boundary() {
    within(
        LIMIT,
        "decoding every sample split in two at every position",
        || {
            for (input, expected) in samples() {
                let shown = show(input);
                for split in 0..input.len() {
                    let mut buf = BytesMut::from(&input[..split]);
                    assert_eq!(
                        decode(&mut buf, &Limits::default()),
                        Ok(None),
                        "only the first {split} bytes of {shown:?} have arrived: the frame is incomplete"
                    );
                    assert_eq!(
                        &buf[..],
                        &input[..split],
                        "Ok(None) on the first {split} bytes of {shown:?} must leave the buffer untouched"
                    );
                    buf.extend_from_slice(&input[split..]);
                    assert_eq!(
                        decode(&mut buf, &Limits::default()),
                        Ok(Some(expected.clone())),
                        "{shown:?} arriving as {split} bytes, then the rest"
                    );
                    assert!(buf.is_empty(), "{shown:?}: the whole frame must be removed");
                }
            }
        },
    );
}

#[test]
fn decodes_a_stream_fed_one_byte_at_a_time() {
    within(
        LIMIT,
        "decoding frames from a buffer filled one byte at a time",
        || {
            let samples = samples();
            let stream: Vec<u8> = samples
                .iter()
                .flat_map(|(input, _)| input.iter().copied())
                .collect();
            let mut buf = BytesMut::new();
            let mut frames = Vec::new();
            for &byte in &stream {
                buf.extend_from_slice(&[byte]);
                while let Some(frame) = decode(&mut buf, &Limits::default()).expect("valid input") {
                    frames.push(frame);
                }
            }
            let expected: Vec<Frame> = samples.into_iter().map(|(_, frame)| frame).collect();
            assert_eq!(frames, expected, "every frame, in order, once");
            assert!(buf.is_empty());
        },
    );
}

#[test]
fn decodes_many_pipelined_commands_from_one_buffer() {
    within(
        LIMIT,
        "decoding 1000 pipelined commands read at once",
        || {
            let mut buf = BytesMut::new();
            for i in 0..1000 {
                let key = format!("key:{i}");
                buf.extend_from_slice(
                    format!("*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n$1\r\nx\r\n", key.len()).as_bytes(),
                );
                buf.extend_from_slice(b"PING\r\n");
            }
            for i in 0..1000 {
                assert_eq!(
                    decode(&mut buf, &Limits::default()),
                    Ok(Some(command(&["SET", &format!("key:{i}"), "x"]))),
                    "command {} of the pipeline",
                    2 * i
                );
                assert_eq!(
                    decode(&mut buf, &Limits::default()),
                    Ok(Some(command(&["PING"])))
                );
            }
            assert!(
                buf.is_empty(),
                "every command has been taken out of the buffer"
            );
            assert_eq!(
                decode(&mut buf, &Limits::default()),
                Ok(None),
                "an empty buffer holds no frame"
            );
        },
    );
}

#[test]
fn decode_removes_exactly_one_frame() {
    within(LIMIT, "decoding the first of two frames", || {
        let mut buf = BytesMut::from(&b"$3\r\nfoo\r\n*1\r\n$4\r\nP"[..]);
        assert_eq!(decode(&mut buf, &Limits::default()), Ok(Some(bulk(b"foo"))));
        assert_eq!(
            &buf[..],
            b"*1\r\n$4\r\nP",
            "the start of the next frame stays in the buffer"
        );
    });
}

// --- no copies ----------------------------------------------------------------

#[test]
fn bulk_strings_share_the_read_buffer() {
    within(LIMIT, "decoding bulk strings without copying them", || {
        let mut buf = BytesMut::with_capacity(4096);
        buf.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$10\r\n0123456789\r\nGET key\r\n");
        let start = buf.as_ptr() as usize;
        let end = start + buf.capacity();
        let mut bulks = Vec::new();
        for _ in 0..2 {
            let Ok(Some(Frame::Array(items))) = decode(&mut buf, &Limits::default()) else {
                panic!("expected two commands");
            };
            bulks.extend(items);
        }
        assert_eq!(bulks.len(), 5);
        for frame in bulks {
            let Frame::Bulk(data) = frame else {
                panic!("command arguments are Frame::Bulk, got {frame:?}")
            };
            let at = data.as_ptr() as usize;
            assert!(
                (start..end).contains(&at),
                "the Bytes of {data:?} must point into the read buffer's memory \
                 (a slice of it, e.g. split_to + freeze + slice), not into a copy"
            );
        }
    });
}

// --- hostile input: lengths -------------------------------------------------

#[test]
fn rejects_negative_bulk_lengths() {
    within(LIMIT, "decoding $-2", || {
        for input in [
            &b"$-2\r\n"[..],
            b"$-100\r\nabc\r\n",
            b"$-9223372036854775808\r\n",
        ] {
            assert_eq!(
                decode_err(input, &Limits::default()),
                ProtocolError::InvalidBulkLength
            );
        }
        assert_eq!(
            decode_err(b"$-2\r\n", &Limits::default()).to_string(),
            "Protocol error: invalid bulk length",
            "Display gives Redis's wording (the server sends it after -ERR)"
        );
    });
}

#[test]
fn rejects_non_numeric_bulk_lengths() {
    within(LIMIT, "decoding $abc and friends", || {
        for input in [
            &b"$abc\r\n"[..],
            b"$\r\n",
            b"$+3\r\nfoo\r\n",
            b"$3x\r\nfoo\r\n",
            b"$ 3\r\nfoo\r\n",
            b"$99999999999999999999999\r\n",
        ] {
            assert_eq!(
                decode_err(input, &Limits::default()),
                ProtocolError::InvalidBulkLength,
                "{:?} has no valid length",
                show(input)
            );
        }
    });
}

#[test]
fn rejects_a_bulk_over_512_mib_without_allocating() {
    within(LIMIT, "decoding $536870913", || {
        let (result, largest) = largest_allocation(|| {
            let mut buf = BytesMut::from(&b"$536870913\r\n"[..]);
            decode(&mut buf, &Limits::default())
        });
        assert_eq!(
            result,
            Err(ProtocolError::InvalidBulkLength),
            "512 MiB + 1 is over proto-max-bulk-len"
        );
        assert!(
            largest < SMALL,
            "refusing a length must not allocate for it; largest allocation: {largest} bytes"
        );
    });
}

#[test]
fn waits_for_a_large_bulk_without_reserving_room_for_it() {
    within(LIMIT, "decoding the start of a 512 MiB bulk string", || {
        let (result, largest) = largest_allocation(|| {
            let mut buf = BytesMut::from(&b"$536870912\r\nabc"[..]);
            decode(&mut buf, &Limits::default())
        });
        assert_eq!(result, Ok(None), "512 MiB is allowed: wait for the data");
        assert!(
            largest < SMALL,
            "a client that announces 512 MiB and sends 3 bytes must not make the server \
             reserve 512 MiB; largest allocation: {largest} bytes"
        );
    });
}

#[test]
fn honours_a_custom_bulk_limit() {
    within(LIMIT, "decoding with max_bulk_len = 4", || {
        let limits = Limits {
            max_bulk_len: 4,
            ..Limits::default()
        };
        let mut buf = BytesMut::from(&b"$4\r\nabcd\r\n"[..]);
        assert_eq!(
            decode(&mut buf, &limits),
            Ok(Some(bulk(b"abcd"))),
            "exactly the limit is allowed"
        );
        assert_eq!(
            decode_err(b"$5\r\n", &limits),
            ProtocolError::InvalidBulkLength
        );
    });
}

#[test]
fn rejects_an_array_of_2_pow_31_elements_without_allocating() {
    within(LIMIT, "decoding *2147483648", || {
        let (result, largest) = largest_allocation(|| {
            let mut buf = BytesMut::from(&b"*2147483648\r\n$1\r\nx\r\n"[..]);
            decode(&mut buf, &Limits::default())
        });
        assert_eq!(
            result,
            Err(ProtocolError::InvalidMultibulkLength),
            "2^31 elements is over the limit (Redis refuses more than 2^31 - 1)"
        );
        assert!(largest < SMALL, "largest allocation: {largest} bytes");
        assert_eq!(
            ProtocolError::InvalidMultibulkLength.to_string(),
            "Protocol error: invalid multibulk length"
        );
    });
}

#[test]
fn does_not_preallocate_an_announced_array() {
    within(
        LIMIT,
        "decoding the start of a 1,000,000-element array",
        || {
            let (result, largest) = largest_allocation(|| {
                let mut buf = BytesMut::from(&b"*1000000\r\n:1\r\n:2\r\n"[..]);
                decode(&mut buf, &Limits::default())
            });
            assert_eq!(
                result,
                Ok(None),
                "a million elements is allowed: wait for them"
            );
            assert!(
                largest < SMALL,
                "an announced length is a claim, not a fact: nothing may be reserved for \
             elements that have not arrived; largest allocation: {largest} bytes"
            );
        },
    );
}

#[test]
fn rejects_bad_aggregate_lengths() {
    within(LIMIT, "decoding *-2, %-1, *abc", || {
        for input in [
            &b"*-2\r\n"[..],
            b"%-1\r\n",
            b"~-1\r\n",
            b">-1\r\n",
            b"*abc\r\n",
            b"*\r\n",
            b"%1x\r\n",
        ] {
            assert_eq!(
                decode_err(input, &Limits::default()),
                ProtocolError::InvalidMultibulkLength,
                "{:?} (only *-1 may be negative: RESP2's null array)",
                show(input)
            );
        }
        let limits = Limits {
            max_array_len: 2,
            ..Limits::default()
        };
        assert_eq!(
            decode_err(b"*3\r\n", &limits),
            ProtocolError::InvalidMultibulkLength
        );
        assert_eq!(
            decode_err(b"%3\r\n", &limits),
            ProtocolError::InvalidMultibulkLength,
            "a map counts pairs"
        );
    });
}

// --- hostile input: nesting, line endings, garbage -------------------------

#[test]
fn limits_nesting_depth() {
    within(LIMIT, "decoding deeply nested arrays", || {
        let nested = |levels: usize| {
            let mut input = b"*1\r\n".repeat(levels);
            input.extend_from_slice(b":1\r\n");
            input
        };
        let limits = Limits {
            max_depth: 3,
            ..Limits::default()
        };
        let mut ok = BytesMut::from(&nested(3)[..]);
        assert!(
            matches!(decode(&mut ok, &limits), Ok(Some(Frame::Array(_)))),
            "3 nested arrays are allowed with max_depth 3"
        );
        assert_eq!(decode_err(&nested(4), &limits), ProtocolError::TooDeep);
        assert_eq!(
            decode_err(&nested(100), &Limits::default()),
            ProtocolError::TooDeep,
            "100 nested arrays are over the default limit of 32"
        );
        assert_eq!(
            decode_err(&b"*1\r\n".repeat(100), &Limits::default()),
            ProtocolError::TooDeep,
            "the depth is refused as soon as it is seen, before the frame is complete"
        );
    });
}

#[test]
fn rejects_bulk_data_not_followed_by_crlf() {
    within(LIMIT, "decoding $3\\r\\nfooXY", || {
        assert_eq!(
            decode_err(b"$3\r\nfooXY", &Limits::default()),
            ProtocolError::MissingCrlf
        );
        assert_eq!(
            decode_err(b"*1\r\n$3\r\nfoo\n\r", &Limits::default()),
            ProtocolError::MissingCrlf
        );
    });
}

#[test]
fn rejects_lines_ending_in_a_bare_newline() {
    within(LIMIT, "decoding +OK\\n", || {
        for input in [
            &b"+OK\n"[..],
            b":1\n",
            b"*1\n$1\r\nx\r\n",
            b"*1\r\n$1\nx\r\n",
        ] {
            assert_eq!(
                decode_err(input, &Limits::default()),
                ProtocolError::MissingCrlf,
                "{:?}: RESP lines end in \\r\\n",
                show(input)
            );
        }
    });
}

#[test]
fn rejects_a_line_that_never_ends() {
    within(
        LIMIT,
        "decoding a +line of 64 KiB + 2 bytes without CRLF",
        || {
            let mut waiting = b"+".to_vec();
            waiting.extend(std::iter::repeat_n(b'a', 64 * 1024));
            waiting.push(b'\r');
            let mut buf = BytesMut::from(&waiting[..]);
            assert_eq!(
                decode(&mut buf, &Limits::default()),
                Ok(None),
                "64 KiB of text and a \r: the \n may still come"
            );
            let mut input = b"+".to_vec();
            input.extend(std::iter::repeat_n(b'a', 64 * 1024 + 2));
            assert_eq!(
                decode_err(&input, &Limits::default()),
                ProtocolError::LineTooLong
            );
            let limits = Limits {
                max_inline_len: 8,
                ..Limits::default()
            };
            assert_eq!(
                decode_err(b":12345678901", &limits),
                ProtocolError::LineTooLong,
                "with max_inline_len 8, 11 bytes without CRLF are too many"
            );
        },
    );
}

#[test]
fn rejects_an_inline_request_over_64_kib() {
    within(LIMIT, "decoding an inline line of 64 KiB + 1 bytes", || {
        let mut line = vec![b'a'; 64 * 1024];
        let mut buf = BytesMut::from(&line[..]);
        assert_eq!(
            decode(&mut buf, &Limits::default()),
            Ok(None),
            "64 KiB without a newline may still end"
        );
        line.push(b'a');
        let err = decode_err(&line, &Limits::default());
        assert_eq!(err, ProtocolError::TooBigInlineRequest);
        assert_eq!(err.to_string(), "Protocol error: too big inline request");
    });
}

#[test]
fn rejects_garbage_inside_an_array() {
    within(LIMIT, "decoding *2 with a garbage element", || {
        assert_eq!(
            decode_err(b"*2\r\n$3\r\nfoo\r\nXYZ\r\n", &Limits::default()),
            ProtocolError::UnexpectedByte(b'X'),
            "inside an aggregate every element starts with a type byte"
        );
        assert_eq!(
            decode_err(b"%1\r\n\0\r\n", &Limits::default()),
            ProtocolError::UnexpectedByte(0)
        );
    });
}

#[test]
fn rejects_malformed_scalars() {
    within(LIMIT, "decoding bad :, ,, #, _ and + lines", || {
        let cases: [(&[u8], ProtocolError); 9] = [
            (b":12a\r\n", ProtocolError::InvalidInteger),
            (b":\r\n", ProtocolError::InvalidInteger),
            (b":9223372036854775808\r\n", ProtocolError::InvalidInteger),
            (b",abc\r\n", ProtocolError::InvalidDouble),
            (b",infinity\r\n", ProtocolError::InvalidDouble),
            (b"#x\r\n", ProtocolError::InvalidBoolean),
            (b"_x\r\n", ProtocolError::InvalidNull),
            (b"+\xff\xfe\r\n", ProtocolError::InvalidUtf8),
            (b"(123\r\n", ProtocolError::UnsupportedType(b'(')),
        ];
        for (input, expected) in cases {
            assert_eq!(
                decode_err(input, &Limits::default()),
                expected,
                "{:?}",
                show(input)
            );
        }
    });
}

/// A small deterministic random generator (xorshift64*): the same inputs on
/// every run, so a failure can be reproduced.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn random_and_mutated_input_never_panics_or_allocates_much() {
    within(LIMIT, "decoding 20,000 random and mutated inputs", || {
        let mut rng = Rng(0x5EED_0022);
        let alphabet = b"*$:+-_#,%~>\r\n0123456789-abc \0\xff";
        let samples = samples();
        for _ in 0..20_000 {
            let mut input: Vec<u8> = if rng.below(2) == 0 {
                let len = rng.below(40) as usize;
                (0..len)
                    .map(|_| alphabet[rng.below(alphabet.len() as u64) as usize])
                    .collect()
            } else {
                samples[rng.below(samples.len() as u64) as usize].0.to_vec()
            };
            for _ in 0..rng.below(4) {
                if input.is_empty() {
                    break;
                }
                let at = rng.below(input.len() as u64) as usize;
                match rng.below(3) {
                    0 => input[at] = alphabet[rng.below(alphabet.len() as u64) as usize],
                    1 => {
                        input.remove(at);
                    }
                    _ => input.insert(at, rng.next() as u8),
                }
            }
            let (_, largest) = largest_allocation(|| {
                let mut buf = BytesMut::from(&input[..]);
                // A valid prefix may hold several frames: decode until stuck.
                for _ in 0..=input.len() {
                    let before = buf.len();
                    match decode(&mut buf, &Limits::default()) {
                        Ok(Some(_)) => {
                            assert!(buf.len() < before, "a decoded frame must remove bytes")
                        }
                        Ok(None) | Err(_) => break,
                    }
                }
            });
            assert!(
                largest < SMALL,
                "input {:?} made an allocation of {largest} bytes",
                show(&input)
            );
        }
    });
}

// --- encoding ---------------------------------------------------------------------

#[test]
fn encodes_resp2_types() {
    within(LIMIT, "encoding RESP2 frames", || {
        let p = Protocol::Resp2;
        assert_eq!(encoded(&Frame::Simple("OK".into()), p), "+OK\r\n");
        assert_eq!(encoded(&Frame::Error("ERR no".into()), p), "-ERR no\r\n");
        assert_eq!(encoded(&Frame::Integer(-7), p), ":-7\r\n");
        assert_eq!(
            encoded(&Frame::Integer(i64::MIN), p),
            ":-9223372036854775808\r\n"
        );
        assert_eq!(encoded(&bulk(b"a\r\nb"), p), "$4\r\na\r\nb\r\n");
        assert_eq!(
            encoded(&Frame::Null, p),
            "$-1\r\n",
            "RESP2 has no null type: the null bulk string"
        );
        assert_eq!(
            encoded(&Frame::Boolean(true), Protocol::default()),
            ":1\r\n",
            "every connection starts in RESP2: Protocol::default() is Resp2"
        );
        assert_eq!(
            encoded(&command(&["GET", "k"]), p),
            "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
        );
    });
}

#[test]
fn encodes_resp3_types_on_a_resp3_connection() {
    within(LIMIT, "encoding RESP3 frames", || {
        let p = Protocol::Resp3;
        assert_eq!(encoded(&Frame::Null, p), "_\r\n");
        assert_eq!(encoded(&Frame::Boolean(true), p), "#t\r\n");
        assert_eq!(encoded(&Frame::Double(1.5), p), ",1.5\r\n");
        assert_eq!(encoded(&Frame::Double(f64::NEG_INFINITY), p), ",-inf\r\n");
        assert_eq!(
            encoded(
                &Frame::Map(vec![(Frame::Simple("proto".into()), Frame::Integer(3))]),
                p
            ),
            "%1\r\n+proto\r\n:3\r\n"
        );
        assert_eq!(
            encoded(&Frame::Set(vec![Frame::Integer(1)]), p),
            "~1\r\n:1\r\n"
        );
        assert_eq!(
            encoded(&Frame::Push(vec![bulk(b"message")]), p),
            ">1\r\n$7\r\nmessage\r\n"
        );
    });
}

#[test]
fn encodes_resp3_types_as_resp2_equivalents_on_a_resp2_connection() {
    within(LIMIT, "encoding RESP3 frames for a RESP2 client", || {
        let p = Protocol::Resp2;
        assert_eq!(encoded(&Frame::Boolean(true), p), ":1\r\n");
        assert_eq!(encoded(&Frame::Boolean(false), p), ":0\r\n");
        assert_eq!(
            encoded(&Frame::Double(1.5), p),
            "$3\r\n1.5\r\n",
            "a double is a bulk string in RESP2"
        );
        assert_eq!(
            encoded(&Frame::Set(vec![Frame::Integer(1)]), p),
            "*1\r\n:1\r\n"
        );
        assert_eq!(
            encoded(&Frame::Push(vec![bulk(b"message")]), p),
            "*1\r\n$7\r\nmessage\r\n"
        );
    });
}

#[test]
fn encodes_a_map_as_a_flat_array_on_a_resp2_connection() {
    within(LIMIT, "encoding HELLO's map for RESP2", || {
        let map = Frame::Map(vec![
            (
                Frame::Simple("server".into()),
                Frame::Simple("redis".into()),
            ),
            (Frame::Simple("proto".into()), Frame::Integer(2)),
        ]);
        assert_eq!(
            encoded(&map, Protocol::Resp2),
            "*4\r\n+server\r\n+redis\r\n+proto\r\n:2\r\n",
            "two pairs become an array of four: k1 v1 k2 v2"
        );
    });
}

#[test]
fn encode_appends_to_the_output_buffer() {
    within(LIMIT, "encoding two replies into one buffer", || {
        let mut dst = BytesMut::from(&b"+PONG\r\n"[..]);
        encode(&Frame::Integer(1), Protocol::Resp2, &mut dst);
        assert_eq!(
            &dst[..],
            b"+PONG\r\n:1\r\n",
            "encode appends: pipelined replies go into one buffer"
        );
    });
}

#[test]
fn encode_replaces_newlines_in_simple_strings_and_errors() {
    within(LIMIT, "encoding an error message with a newline", || {
        assert_eq!(
            encoded(&Frame::Error("ERR bad\r\nthing".into()), Protocol::Resp2),
            "-ERR bad  thing\r\n",
            "a CR or LF inside a simple string would end it early: write a space instead"
        );
        assert_eq!(
            encoded(&Frame::Simple("a\nb".into()), Protocol::Resp3),
            "+a b\r\n"
        );
    });
}

// --- round trips: decode(encode(x)) == x --------------------------------------

fn random_text(rng: &mut Rng) -> String {
    let pieces = ["a", "OK", " ", "é", "ERR", "0", "\t", "ключ", "-", ":"];
    (0..rng.below(5))
        .map(|_| pieces[rng.below(pieces.len() as u64) as usize])
        .collect()
}

fn random_double(rng: &mut Rng) -> f64 {
    match rng.below(6) {
        0 => f64::INFINITY,
        1 => f64::NEG_INFINITY,
        2 => (rng.below(2001) as f64 - 1000.0) / 8.0,
        _ => loop {
            let d = f64::from_bits(rng.next());
            if !d.is_nan() {
                break d;
            }
        },
    }
}

/// A random frame; `resp3` allows the RESP3-only types.
fn random_frame(rng: &mut Rng, depth: usize, resp3: bool) -> Frame {
    let kinds = if resp3 { 11 } else { 6 };
    let kind = if depth >= 4 {
        rng.below(4)
    } else {
        rng.below(kinds)
    };
    let items = |rng: &mut Rng| {
        (0..rng.below(4))
            .map(|_| random_frame(rng, depth + 1, resp3))
            .collect()
    };
    match kind {
        0 => Frame::Simple(random_text(rng)),
        1 => Frame::Error(random_text(rng)),
        2 => Frame::Integer(match rng.below(4) {
            0 => i64::MIN,
            1 => i64::MAX,
            _ => rng.next() as i64 >> rng.below(64),
        }),
        3 => Frame::Bulk(
            (0..rng.below(12))
                .map(|_| rng.next() as u8)
                .collect::<Vec<u8>>()
                .into(),
        ),
        4 => Frame::Array(items(rng)),
        5 => Frame::Null,
        6 => Frame::Boolean(rng.below(2) == 0),
        7 => Frame::Double(random_double(rng)),
        8 => Frame::Map(
            (0..rng.below(3))
                .map(|_| {
                    (
                        random_frame(rng, depth + 1, resp3),
                        random_frame(rng, depth + 1, resp3),
                    )
                })
                .collect(),
        ),
        9 => Frame::Set(items(rng)),
        _ => Frame::Push(items(rng)),
    }
}

#[test]
fn decode_of_encode_gives_back_every_resp3_frame() {
    within(
        LIMIT,
        "round-tripping 3,000 random frames through RESP3",
        || {
            let mut rng = Rng(0xC0FFEE);
            for _ in 0..3_000 {
                let frame = random_frame(&mut rng, 0, true);
                let mut buf = BytesMut::new();
                encode(&frame, Protocol::Resp3, &mut buf);
                let wire = buf.clone();
                assert_eq!(
                    decode(&mut buf, &Limits::default()),
                    Ok(Some(frame.clone())),
                    "decode(encode(frame)) must be the frame; it was encoded as {:?}",
                    wire.escape_ascii().to_string()
                );
                assert!(
                    buf.is_empty(),
                    "the encoding of {frame:?} holds exactly one frame"
                );
            }
        },
    );
}

#[test]
fn decode_of_encode_gives_back_every_resp2_frame() {
    within(LIMIT, "round-tripping 3,000 random RESP2 frames", || {
        let mut rng = Rng(0xBEEF);
        for _ in 0..3_000 {
            let frame = random_frame(&mut rng, 0, false);
            let mut buf = BytesMut::new();
            encode(&frame, Protocol::Resp2, &mut buf);
            let wire = buf.clone();
            assert_eq!(
                decode(&mut buf, &Limits::default()),
                Ok(Some(frame.clone())),
                "encoded as {:?}",
                wire.escape_ascii().to_string()
            );
        }
    });
}

#[test]
fn a_stream_of_encoded_frames_decodes_in_random_chunks() {
    within(
        LIMIT,
        "decoding 500 encoded frames arriving in random-sized reads",
        || {
            let mut rng = Rng(0xFEED);
            let frames: Vec<Frame> = (0..500).map(|_| random_frame(&mut rng, 0, true)).collect();
            let mut wire = BytesMut::new();
            for frame in &frames {
                encode(frame, Protocol::Resp3, &mut wire);
            }
            let mut buf = BytesMut::new();
            let mut decoded = Vec::new();
            while !wire.is_empty() {
                let n = (rng.below(64) as usize + 1).min(wire.len());
                buf.extend_from_slice(&wire.split_to(n));
                while let Some(frame) = decode(&mut buf, &Limits::default()).expect("valid stream")
                {
                    decoded.push(frame);
                }
            }
            assert_eq!(decoded.len(), frames.len(), "every frame, once");
            assert_eq!(decoded, frames, "in order, unchanged");
        },
    );
}
