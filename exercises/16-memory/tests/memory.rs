//! The specification of exercise 16.
//!
//! This test binary installs YOUR `CountingAlloc` as its global allocator:
//! every allocation of every test, and of the test harness, goes through it.
//! The tests run on several threads at once, so only per-thread counts mean
//! anything: `measure` must count what the calling thread does, nothing else.

use std::collections::{HashMap, HashSet};
use std::hint::black_box;
use std::io::ErrorKind;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;

use bumpalo::Bump;
use exercise_16::counting::{CountingAlloc, Counts, measure, thread_counts};
use exercise_16::expr::{parse_boxed, parse_in};
use exercise_16::genslab::{GenSlab, Key};
use exercise_16::parse::{EvalError, ParseError};
use exercise_16::records::RecordReader;
use std::time::Duration;

use testkit::within;

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Miri interprets every instruction: it gets smaller inputs, and more time
/// (its clock advances with the instructions it interprets).
const MIRI: bool = cfg!(miri);
const LIMIT: Duration = if MIRI {
    Duration::from_secs(600)
} else {
    testkit::LIMIT
};

// --- part 1: the counting allocator -----------------------------------------

#[test]
fn a_box_is_one_allocation_and_one_deallocation() {
    within(LIMIT, "counting a Box", || {
        let ((), counts) = measure(|| {
            let b = Box::new(7u64);
            black_box(&b);
            drop(b);
        });
        let want = Counts {
            allocs: 1,
            deallocs: 1,
            reallocs: 0,
            bytes_allocated: 8,
            bytes_freed: 8,
        };
        assert_eq!(
            counts, want,
            "Box::new(7u64) then drop: one alloc of 8 bytes, one dealloc of 8 bytes"
        );
    });
}

#[test]
fn zeroed_allocations_are_counted() {
    within(LIMIT, "counting a zeroed allocation", || {
        let (v, counts) = measure(|| vec![0u8; 4096]); // calls alloc_zeroed
        assert_eq!(
            (counts.allocs, counts.bytes_allocated),
            (1, 4096),
            "vec![0u8; 4096] is one zeroed allocation of 4096 bytes (alloc_zeroed); got {counts:?}"
        );
        assert!(v.iter().all(|&b| b == 0), "and its memory is zeroed");
    });
}

#[test]
fn vec_growth_is_counted_as_reallocs() {
    within(LIMIT, "counting a growing Vec", || {
        let (capacity_changes, counts) = measure(|| {
            let mut v: Vec<u64> = Vec::new();
            let mut capacity = v.capacity();
            let mut changes = 0;
            for i in 0..1000 {
                v.push(i);
                if v.capacity() != capacity {
                    changes += 1;
                    capacity = v.capacity();
                }
            }
            black_box(&v);
            changes
        });
        assert!(
            capacity_changes >= 5,
            "the Vec grew {capacity_changes} times"
        );
        assert_eq!(
            (counts.allocs, counts.reallocs, counts.deallocs),
            (1, capacity_changes - 1, 1),
            "pushing 1000 items into Vec::new(): the capacity changed {capacity_changes} times; \
             the first is one alloc, each later one a realloc (not an alloc plus a dealloc: \
             does your allocator override `realloc`?), and the drop one dealloc. Got {counts:?}"
        );
    });
}

#[test]
fn live_bytes_follow_a_growing_vec() {
    within(LIMIT, "counting bytes", || {
        let before = thread_counts();
        let mut v: Vec<u64> = Vec::new();
        for i in 0..1000 {
            v.push(i);
        }
        let now = thread_counts().since(before);
        assert_eq!(
            now.bytes_allocated.checked_sub(now.bytes_freed),
            Some(v.capacity() as u64 * 8),
            "while the Vec lives, bytes_allocated - bytes_freed is its capacity in bytes; \
             a realloc frees the old size and allocates the new one. Got {now:?}"
        );
        drop(v);
        let after = thread_counts().since(before);
        assert_eq!(
            after.bytes_allocated, after.bytes_freed,
            "after the drop every byte allocated is freed: {after:?}"
        );
    });
}

#[test]
fn with_capacity_allocates_once_and_never_reallocates() {
    within(LIMIT, "counting Vec::with_capacity", || {
        let ((), counts) = measure(|| {
            let mut v: Vec<u64> = Vec::with_capacity(1000);
            for i in 0..1000 {
                v.push(i);
            }
            black_box(&v);
        });
        assert_eq!(
            (counts.allocs, counts.reallocs, counts.deallocs),
            (1, 0, 1),
            "Vec::with_capacity(1000) and 1000 pushes: one alloc, no realloc, one dealloc; got {counts:?}"
        );
    });
}

#[test]
fn counts_only_the_current_threads_allocations() {
    within(LIMIT, "measuring while another thread allocates", || {
        let target = if MIRI { 20 } else { 2000 };
        let stop = Arc::new(AtomicBool::new(false));
        let progress = Arc::new(AtomicUsize::new(0));
        let other = {
            let (stop, progress) = (stop.clone(), progress.clone());
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    black_box(Box::new(0u64));
                    progress.fetch_add(1, Ordering::Relaxed);
                }
            })
        };
        // Measure a closure that allocates nothing itself, while the other
        // thread allocates `target` boxes.
        let ((), counts) = measure(|| {
            let start = progress.load(Ordering::Relaxed);
            while progress.load(Ordering::Relaxed) < start + target {
                std::hint::spin_loop();
            }
        });
        stop.store(true, Ordering::Relaxed);
        other.join().expect("the allocating thread panicked");
        assert_eq!(
            counts,
            Counts::ZERO,
            "another thread allocated {target} boxes while this one allocated nothing: \
             the counts must be per thread (a thread_local), not global"
        );
    });
}

// --- part 1: a hot loop that does not allocate -------------------------------

/// Reads every record of `text` and collects them (for small inputs).
#[track_caller]
fn read_all(text: &str, max_line: usize) -> Vec<Vec<i64>> {
    let mut reader = RecordReader::new(max_line);
    let mut input = text.as_bytes();
    let mut records = Vec::new();
    while let Some(record) = reader
        .next_record(&mut input)
        .unwrap_or_else(|e| panic!("reading {text:?} failed: {e}"))
    {
        records.push(record.to_vec());
    }
    records
}

#[test]
fn reads_records_of_comma_separated_integers() {
    within(LIMIT, "reading records", || {
        let got = read_all("1,2,3\n-4, 5 ,6\n\n  42  \n", 64);
        let want: Vec<Vec<i64>> = vec![vec![1, 2, 3], vec![-4, 5, 6], vec![], vec![42]];
        assert_eq!(
            got, want,
            "one record per line; spaces around fields ignored; an empty line is an empty record"
        );
    });
}

#[test]
fn accepts_crlf_and_a_last_line_without_an_end() {
    within(LIMIT, "reading CRLF lines", || {
        let got = read_all("1,2\r\n3\r\n4,5", 64);
        let want: Vec<Vec<i64>> = vec![vec![1, 2], vec![3], vec![4, 5]];
        assert_eq!(
            got, want,
            "\\r\\n ends a line too, and so does the end of the input"
        );
    });
}

#[test]
fn rejects_a_field_that_is_not_an_integer() {
    within(LIMIT, "rejecting a bad field", || {
        let mut reader = RecordReader::new(64);
        let mut input = "1,2\n3,x,4\n".as_bytes();
        assert!(matches!(reader.next_record(&mut input), Ok(Some([1, 2]))));
        match reader.next_record(&mut input) {
            Err(e) => {
                assert_eq!(
                    e.kind(),
                    ErrorKind::InvalidData,
                    "a bad field is InvalidData"
                );
                assert!(
                    e.to_string().contains("line 2"),
                    "the message should name the line (\"line 2\"): {e}"
                );
            }
            Ok(record) => panic!("\"3,x,4\" must be an error, got {record:?}"),
        }
    });
}

#[test]
fn rejects_an_overlong_line_without_reading_all_of_it() {
    within(LIMIT, "rejecting a long line", || {
        let long = vec![b'1'; if MIRI { 4_000 } else { 1 << 20 }];
        let mut input = &long[..];
        let mut reader = RecordReader::new(64);
        let (result, counts) = measure(|| reader.next_record(&mut input).map(|r| r.is_some()));
        match result {
            Err(e) => assert_eq!(
                e.kind(),
                ErrorKind::InvalidData,
                "a long line is InvalidData"
            ),
            Ok(_) => panic!(
                "a line of {} bytes with max_line 64 must be an error",
                long.len()
            ),
        }
        let consumed = long.len() - input.len();
        assert!(
            consumed <= 66,
            "the reader consumed {consumed} bytes of an endless line: read at most \
             max_line + 2 bytes before deciding it is too long"
        );
        assert!(
            counts.bytes_allocated < 4096,
            "rejecting the line allocated {} bytes: the line buffer must not grow \
             beyond the limit",
            counts.bytes_allocated
        );
    });
}

#[test]
fn a_warm_reader_allocates_nothing_per_record() {
    within(LIMIT, "reading many records without allocating", || {
        let lines = if MIRI { 40 } else { 20_000 };
        // The first line is the longest and has the most fields.
        let mut text = String::from("-1000000, 2000000, -3000000, 4000000, -5000000, 6000000\n");
        let mut want_sum: i64 = 3_000_000;
        for i in 1..lines {
            let fields = i % 6 + 1;
            for f in 0..fields {
                let value = (i * 7 + f * 13) as i64 % 1000 - 500;
                want_sum += value;
                text.push_str(&value.to_string());
                text.push_str(if f + 1 < fields { "," } else { "\n" });
            }
        }
        let mut reader = RecordReader::new(128);
        let mut input = text.as_bytes();
        // Warm up: the first record makes the buffers as big as they get.
        let first = reader.next_record(&mut input).expect("record 1");
        let mut sum: i64 = first.expect("record 1").iter().sum();

        let (records, counts) = measure(|| {
            let mut records = 1;
            while let Some(fields) = reader.next_record(&mut input).expect("a valid record") {
                sum += fields.iter().sum::<i64>();
                records += 1;
            }
            records
        });
        assert_eq!(records, lines, "every line is a record");
        assert_eq!(
            sum, want_sum,
            "the fields read add up to the fields written"
        );
        assert_eq!(
            (counts.allocs, counts.reallocs),
            (0, 0),
            "after the first record, reading {} more allocated: {counts:?}. Reuse the \
             line buffer and the fields Vec (clear them, keep their capacity); no \
             to_string, no collect into a new Vec per line",
            lines - 1
        );
    });
}

// --- part 2: the generational slab -------------------------------------------

#[test]
fn insert_then_get_returns_each_value() {
    within(LIMIT, "inserting and getting", || {
        let mut slab = GenSlab::new();
        let a = slab.insert("a");
        let b = slab.insert("b");
        let c = slab.insert("c");
        assert_eq!(
            (slab.get(a), slab.get(b), slab.get(c)),
            (Some(&"a"), Some(&"b"), Some(&"c")),
            "each key finds its own value"
        );
        assert_eq!(slab.len(), 3, "three values inserted");
        assert!(!slab.is_empty());
        assert!(slab.contains(b));
    });
}

#[test]
fn get_mut_changes_the_stored_value() {
    within(LIMIT, "changing a value", || {
        let mut slab = GenSlab::new();
        let a = slab.insert(1);
        let b = slab.insert(10);
        *slab.get_mut(a).expect("a live key") += 5;
        assert_eq!((slab.get(a), slab.get(b)), (Some(&6), Some(&10)));
    });
}

#[test]
fn remove_returns_the_value_once() {
    within(LIMIT, "removing", || {
        let mut slab = GenSlab::new();
        let a = slab.insert(String::from("a"));
        let b = slab.insert(String::from("b"));
        assert_eq!(
            slab.remove(a).as_deref(),
            Some("a"),
            "remove returns the value"
        );
        assert_eq!(slab.len(), 1, "one value left");
        assert_eq!(
            slab.remove(a),
            None,
            "removing the same key again gives None"
        );
        assert_eq!(slab.len(), 1, "removing a removed key changes nothing");
        assert_eq!(slab.get(a), None, "a removed key finds nothing");
        assert!(!slab.contains(a));
        assert_eq!(slab.get(b).map(String::as_str), Some("b"));
        slab.remove(b);
        assert!(slab.is_empty(), "empty after removing both");
    });
}

#[test]
fn a_removed_slot_is_reused_by_the_next_insert() {
    within(LIMIT, "reusing slots", || {
        let mut slab = GenSlab::new();
        let a = slab.insert('a');
        let _b = slab.insert('b');
        slab.remove(a);
        let c = slab.insert('c');
        assert_eq!(
            c.index(),
            a.index(),
            "the slot freed by `remove` is reused before the slab grows"
        );
        assert_ne!(
            c, a,
            "but the new key differs from the old one (its generation)"
        );
    });
}

#[test]
fn a_stale_key_does_not_reach_the_value_that_reused_its_slot() {
    within(LIMIT, "a stale key", || {
        let mut slab = GenSlab::new();
        let alice = slab.insert("alice");
        slab.remove(alice);
        let bob = slab.insert("bob"); // reuses alice's slot
        assert_eq!(
            slab.get(alice),
            None,
            "alice's key was removed; it must not find bob, who now lives in its slot"
        );
        assert_eq!(slab.get_mut(alice), None, "get_mut with a stale key");
        assert!(!slab.contains(alice), "contains with a stale key");
        assert_eq!(slab.get(bob), Some(&"bob"), "bob's own key still works");
    });
}

#[test]
fn removing_with_a_stale_key_leaves_the_new_value_in_place() {
    within(LIMIT, "removing with a stale key", || {
        let mut slab = GenSlab::new();
        let alice = slab.insert("alice");
        slab.remove(alice);
        let bob = slab.insert("bob");
        assert_eq!(slab.remove(alice), None, "a stale key removes nothing");
        assert_eq!(
            slab.get(bob),
            Some(&"bob"),
            "bob survived a remove with alice's key"
        );
        assert_eq!(slab.len(), 1);
    });
}

#[test]
fn keys_stay_unique_over_many_reuses_of_one_slot() {
    within(LIMIT, "reusing one slot many times", || {
        let rounds = if MIRI { 50 } else { 10_000 };
        let mut slab = GenSlab::new();
        let mut keys = Vec::new();
        for i in 0..rounds {
            let k = slab.insert(i);
            assert_eq!(slab.get(k), Some(&i));
            assert_eq!(slab.remove(k), Some(i));
            keys.push(k);
        }
        let index = keys[0].index();
        assert!(
            keys.iter().all(|k| k.index() == index),
            "inserting into an empty slab reuses the one slot every time"
        );
        let distinct: HashSet<Key> = keys.iter().copied().collect();
        assert_eq!(distinct.len(), rounds, "every reuse hands out a new key");
        let last = slab.insert(rounds);
        for k in &keys {
            assert_eq!(
                slab.get(*k),
                None,
                "old key {k:?} must not find the current value"
            );
        }
        assert_eq!(slab.get(last), Some(&rounds));
    });
}

/// A small deterministic random-number generator (xorshift).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn a_random_workload_matches_a_hashmap() {
    within(LIMIT, "a random workload", || {
        let steps = if MIRI { 300 } else { 50_000 };
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut slab = GenSlab::new();
        let mut model: HashMap<Key, u64> = HashMap::new();
        let mut live: Vec<Key> = Vec::new();
        let mut dead: Vec<Key> = Vec::new();
        let mut issued: HashSet<Key> = HashSet::new();
        for step in 0..steps {
            if live.is_empty() || rng.below(100) < 55 {
                let key = slab.insert(step);
                assert!(
                    model.insert(key, step).is_none(),
                    "step {step}: insert returned {key:?}, a key that is still live"
                );
                assert!(issued.insert(key), "step {step}: {key:?} was issued before");
                live.push(key);
            } else {
                let key = live.swap_remove(rng.below(live.len() as u64) as usize);
                assert_eq!(
                    slab.remove(key),
                    model.remove(&key),
                    "step {step}: remove({key:?})"
                );
                dead.push(key);
            }
            if let Some(&old) = dead.get(rng.below(dead.len() as u64 + 1) as usize) {
                assert_eq!(
                    slab.get(old),
                    None,
                    "step {step}: stale key {old:?} found a value"
                );
            }
            assert_eq!(slab.len(), model.len(), "step {step}: len");
        }
        let mut got: Vec<(Key, u64)> = slab.iter().map(|(k, v)| (k, *v)).collect();
        let mut want: Vec<(Key, u64)> = model.into_iter().collect();
        got.sort_by_key(|&(_, v)| v);
        want.sort_by_key(|&(_, v)| v);
        assert_eq!(
            got, want,
            "iter() yields every live value with its key, nothing else"
        );
    });
}

// --- part 3: a tree in boxes and in an arena ----------------------------------

/// A balanced expression with `2^levels` numbers: its text, value and
/// number of nodes (numbers, operators and unary minuses).
fn balanced(levels: u32, rng: &mut Rng) -> (String, i64, usize) {
    if levels == 0 {
        let n = rng.below(9) as i64 + 1;
        return (n.to_string(), n, 1);
    }
    let (l, lv, ln) = balanced(levels - 1, rng);
    let (r, rv, rn) = balanced(levels - 1, rng);
    let (op, value) = match (levels, rng.below(3)) {
        (1, 0) => ('*', lv * rv),
        (_, 1) => ('-', lv - rv),
        _ => ('+', lv + rv),
    };
    if rng.below(5) == 0 {
        (format!("-({l} {op} {r})"), -value, ln + rn + 2)
    } else {
        (format!("({l}{op}{r})"), value, ln + rn + 1)
    }
}

fn big_expression() -> (String, i64, usize) {
    balanced(if MIRI { 5 } else { 13 }, &mut Rng(42))
}

#[test]
fn both_trees_evaluate_small_expressions() {
    within(LIMIT, "evaluating small expressions", || {
        let cases = [
            ("42", 42),
            ("1 + 2 * 3", 7),
            ("(1 + 2) * 3", 9),
            ("8 - 2 - 1", 5),
            ("7 / 2", 3),
            ("-(4) - -2", -2),
            (" 2*(3+(4-1))*-1 ", -12),
        ];
        for (src, want) in cases {
            let boxed = parse_boxed(src).unwrap_or_else(|e| panic!("parse_boxed({src:?}): {e}"));
            assert_eq!(boxed.eval(), Ok(want), "boxed tree of {src:?}");
            let arena = Bump::new();
            let tree = parse_in(&arena, src).unwrap_or_else(|e| panic!("parse_in({src:?}): {e}"));
            assert_eq!(tree.eval(), Ok(want), "arena tree of {src:?}");
        }
    });
}

#[test]
fn evaluation_errors_are_values_not_panics() {
    within(LIMIT, "evaluation errors", || {
        let cases = [
            ("1 / 0", EvalError::DivisionByZero),
            ("1 / (2 - 2)", EvalError::DivisionByZero),
            ("9223372036854775807 + 1", EvalError::Overflow),
            ("-(-9223372036854775807 - 1)", EvalError::Overflow),
            ("3037000500 * 3037000500", EvalError::Overflow),
        ];
        for (src, want) in cases {
            let boxed = parse_boxed(src).expect("a valid expression");
            assert_eq!(boxed.eval(), Err(want), "boxed tree of {src:?}");
            let arena = Bump::new();
            let tree = parse_in(&arena, src).expect("a valid expression");
            assert_eq!(tree.eval(), Err(want), "arena tree of {src:?}");
        }
    });
}

#[test]
fn syntax_errors_come_back_from_both_parsers() {
    within(LIMIT, "syntax errors", || {
        for src in ["", "1 +", "(1", "1 2", "2 * / 3", "99999999999999999999"] {
            let arena = Bump::new();
            let boxed = parse_boxed(src).map(|_| ()).err();
            let in_arena = parse_in(&arena, src).map(|_| ()).err();
            assert!(boxed.is_some(), "parse_boxed({src:?}) must fail");
            assert_eq!(
                boxed, in_arena,
                "both parsers report the same error for {src:?}"
            );
        }
    });
}

#[test]
fn both_trees_of_a_big_expression_have_its_value() {
    within(LIMIT, "evaluating a big expression", || {
        let (src, want, nodes) = big_expression();
        let boxed = parse_boxed(&src).expect("a valid expression");
        assert_eq!(boxed.eval(), Ok(want), "the boxed tree ({nodes} nodes)");
        let arena = Bump::new();
        let tree = parse_in(&arena, &src).expect("a valid expression");
        assert_eq!(tree.eval(), Ok(want), "the arena tree ({nodes} nodes)");
    });
}

#[test]
fn a_boxed_tree_allocates_and_frees_once_per_node() {
    within(LIMIT, "counting a boxed tree", || {
        let (src, _, nodes) = big_expression();
        let (tree, built) = measure(|| parse_boxed(&src).expect("a valid expression"));
        let ((), dropped) = measure(|| drop(tree));
        assert_eq!(
            (built.allocs, dropped.deallocs),
            (nodes as u64, nodes as u64),
            "a tree of {nodes} boxed nodes: one allocation per node to build it, \
             one deallocation per node to drop it"
        );
    });
}

#[test]
fn an_arena_with_room_builds_the_tree_without_the_global_allocator() {
    within(LIMIT, "building a tree in a big arena", || {
        let (src, want, nodes) = big_expression();
        let arena = Bump::with_capacity(nodes * 64);
        let (tree, counts) = measure(|| parse_in(&arena, &src).expect("a valid expression"));
        assert_eq!(
            (counts.allocs, counts.reallocs),
            (0, 0),
            "the arena had room for all {nodes} nodes, yet building the tree called the \
             global allocator: every node must be allocated in the arena (no Box, no Vec)"
        );
        assert_eq!(tree.eval(), Ok(want));
    });
}

#[test]
fn an_arena_calls_the_global_allocator_once_per_chunk() {
    within(LIMIT, "building a tree in a growing arena", || {
        let (src, want, nodes) = big_expression();
        let ((), counts) = measure(|| {
            let arena = Bump::new();
            let tree = parse_in(&arena, &src).expect("a valid expression");
            assert_eq!(tree.eval(), Ok(want));
            // Dropping the arena frees every node at once.
        });
        assert!(
            counts.allocs <= 32 && counts.allocs * 16 < nodes as u64,
            "{nodes} nodes in a Bump::new() arena took {} allocations; the arena asks \
             for a few chunks, each about twice as big as the last",
            counts.allocs
        );
        assert_eq!(
            counts.deallocs, counts.allocs,
            "dropping the arena frees its chunks, all of them: {counts:?}"
        );
    });
}

#[test]
fn parse_error_positions_are_the_parsers() {
    within(LIMIT, "a parse error's position", || {
        let arena = Bump::new();
        let want = ParseError {
            at: 4,
            what: "expected a number, `-` or `(`",
        };
        assert_eq!(parse_in(&arena, "1 + )").map(|_| ()), Err(want));
        assert_eq!(parse_boxed("1 + )").map(|_| ()), Err(want));
    });
}
