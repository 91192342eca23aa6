//! The specification of exercise 24: an append-only file and pub/sub for
//! the cache server.
//!
//! The first tests drive your `Aof`, `log_form` and `replay` directly, on
//! real files in temporary directories, with a made-up wall clock (the
//! `now_unix_ms` arguments) so that no test waits for a key to expire. Then
//! the pub/sub tests drive your `Broker` and `Subscriber` directly. The last
//! ones start the server program (given `bin/aof_server.rs`, which calls
//! your code) as a child process, talk to it over TCP, kill it with SIGKILL
//! or SIGTERM, start it again on the same file, and subscribe and publish
//! over real sockets. Every child is killed when its test ends, passed or
//! failed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use exercise_24::{Aof, Broker, Clock, Db, Fsync, Message, Replayed, Subscriber, log_form, replay};
use resp::Frame;
use testkit::{block_on_paused, within};

/// The server program under test: the exercise's, or the solution's when
/// the reference solution runs these tests.
const SERVER: &str = match option_env!("CARGO_BIN_EXE_aof-server-24") {
    Some(path) => path,
    None => match option_env!("CARGO_BIN_EXE_aof-server-24-reference") {
        Some(path) => path,
        None => "",
    },
};

const WATCHDOG: Duration = Duration::from_secs(30);

/// For the tests that only call the library on files: a deadlock on the
/// log's `Mutex`, or a replay loop that never ends, fails here.
const FILE_WATCHDOG: Duration = Duration::from_secs(10);

/// A made-up wall clock: 2026-11-28, in milliseconds since 1970.
const T0: u64 = 1_795_824_000_000;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn cmd(words: &[&str]) -> Vec<Bytes> {
    words
        .iter()
        .map(|w| Bytes::copy_from_slice(w.as_bytes()))
        .collect()
}

fn db() -> Db {
    Db::new(4, Clock::new())
}

fn bulk(text: &str) -> Frame {
    Frame::Bulk(Bytes::copy_from_slice(text.as_bytes()))
}

/// A fresh temporary directory and the path of a log inside it.
fn log_path() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("appendonly.aof");
    (dir, path)
}

/// Runs each command through a new `Aof` on `path` at time `now`.
#[track_caller]
fn log_commands(path: &Path, policy: Fsync, now: u64, commands: &[&[&str]]) -> Db {
    let aof = Aof::open(path, policy).expect("Aof::open creates the file");
    let db = db();
    for words in commands {
        aof.execute(&db, &cmd(words), now)
            .unwrap_or_else(|e| panic!("Aof::execute({words:?}) failed: {e}"));
    }
    db
}

/// Replays `path` into a new store at time `now`; the store and the result.
#[track_caller]
fn replayed(path: &Path, now: u64) -> (Db, Replayed) {
    let db = db();
    let result = replay(path, &db, now)
        .unwrap_or_else(|e| panic!("replay of a log written by Aof failed: {e}"));
    (db, result)
}

#[track_caller]
fn assert_get(db: &Db, key: &str, expected: Option<&str>, context: &str) {
    let got = db.execute(&cmd(&["GET", key]));
    let want = expected.map_or(Frame::Null, bulk);
    assert_eq!(got, want, "GET {key} {context}");
}

/// The RESP encoding of a command, as it must appear in the file.
fn encoded(words: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", words.len()).into_bytes();
    for w in words {
        out.extend_from_slice(format!("${}\r\n{w}\r\n", w.len()).as_bytes());
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

// ---------------------------------------------------------------------------
// Logging and replay
// ---------------------------------------------------------------------------

#[test]
fn replay_restores_every_logged_write() {
    within(FILE_WATCHDOG, "Aof::execute and replay to finish", || {
        let (_dir, path) = log_path();
        log_commands(
            &path,
            Fsync::Always,
            T0,
            &[
                &["SET", "greeting", "hello"],
                &["RPUSH", "list", "a", "b", "c"],
                &["INCR", "counter"],
                &["INCRBY", "counter", "41"],
                &["SET", "gone", "soon"],
                &["DEL", "gone"],
                &["LPOP", "list"],
                &["MSET", "x", "1", "y", "2"],
                &["APPEND", "greeting", " world"],
            ],
        );
        let (db, result) = replayed(&path, T0);
        assert_eq!(
            result,
            Replayed {
                applied: 9,
                torn_tail_bytes: 0
            },
            "replay should apply the 9 logged writes and find no torn tail"
        );
        assert_get(&db, "greeting", Some("hello world"), "after replay");
        assert_get(
            &db,
            "counter",
            Some("42"),
            "after replay (INCR, then INCRBY 41)",
        );
        assert_get(&db, "gone", None, "after replay (SET, then DEL)");
        assert_get(&db, "y", Some("2"), "after replay (MSET)");
        assert_eq!(
            db.execute(&cmd(&["LRANGE", "list", "0", "-1"])),
            Frame::Array(vec![bulk("b"), bulk("c")]),
            "LRANGE list 0 -1 after replay (RPUSH a b c, then LPOP)"
        );
    })
}

#[test]
fn reads_and_failed_commands_are_not_logged() {
    within(FILE_WATCHDOG, "Aof::execute to finish", || {
        let (_dir, path) = log_path();
        log_commands(
            &path,
            Fsync::No,
            T0,
            &[
                &["SET", "k", "not a number"],
                &["GET", "k"],
                &["EXISTS", "k"],
                &["INCR", "k"],                // an error: not an integer
                &["LPUSH", "k", "x"],          // an error: WRONGTYPE
                &["SET", "k", "v", "EX", "0"], // an error: invalid expire time
                &["TTL", "k"],
            ],
        );
        let (db, result) = replayed(&path, T0);
        assert_eq!(
            result.applied, 1,
            "only the first SET changed the store; reads and commands answered with an error must not be logged"
        );
        assert_get(&db, "k", Some("not a number"), "after replay");
    })
}

#[test]
fn a_write_is_in_the_file_when_execute_returns_under_every_policy() {
    within(
        FILE_WATCHDOG,
        "Aof::execute to finish under every policy",
        || {
            for policy in [Fsync::Always, Fsync::EverySec, Fsync::No] {
                let (_dir, path) = log_path();
                let aof = Aof::open(&path, policy).expect("Aof::open");
                let db = db();
                for i in 0..3 {
                    let value = format!("value-{i}");
                    let reply = aof
                        .execute(&db, &cmd(&["SET", "key", &value]), T0)
                        .expect("Aof::execute");
                    assert_eq!(reply, Frame::Simple("OK".into()), "the reply to SET");
                    let file = std::fs::read(&path).expect("read the log");
                    assert!(
                        contains(&file, &encoded(&["SET", "key", &value])),
                        "with {policy:?}, the record of SET key {value} must be written to the file \
                     (write(2), not only a buffer in the process) before execute returns its reply; \
                     the file holds {:?}",
                        String::from_utf8_lossy(&file)
                    );
                }
                // The policy decides when the disk gets it, not whether the file does.
                aof.sync().expect("Aof::sync");
            }
        },
    )
}

#[test]
fn relative_expiry_times_are_logged_as_absolute_ones() {
    within(FILE_WATCHDOG, "log_form and Aof::execute to finish", || {
        assert_eq!(
            log_form(&cmd(&["set", "k", "v", "NX", "ex", "10", "GET"]), T0),
            cmd(&[
                "set",
                "k",
                "v",
                "NX",
                "PXAT",
                &(T0 + 10_000).to_string(),
                "GET"
            ]),
            "SET ... EX 10 at T0 is logged as SET ... PXAT T0+10000, other options kept in order"
        );
        assert_eq!(
            log_form(&cmd(&["SET", "k", "v", "PX", "250"]), T0),
            cmd(&["SET", "k", "v", "PXAT", &(T0 + 250).to_string()]),
            "SET ... PX 250 at T0 is logged as SET ... PXAT T0+250"
        );
        assert_eq!(
            log_form(&cmd(&["EXPIRE", "k", "5", "GT"]), T0),
            cmd(&["PEXPIREAT", "k", &(T0 + 5_000).to_string(), "GT"]),
            "EXPIRE k 5 GT at T0 is logged as PEXPIREAT k T0+5000 GT"
        );
        assert_eq!(
            log_form(&cmd(&["pexpire", "k", "-1"]), T0),
            cmd(&["PEXPIREAT", "k", &(T0 - 1).to_string()]),
            "PEXPIRE k -1 (delete the key) is logged as a time in the past"
        );
        assert_eq!(
            log_form(&cmd(&["RPUSH", "l", "EX", "10"]), T0),
            cmd(&["RPUSH", "l", "EX", "10"]),
            "only SET, EXPIRE and PEXPIRE are rewritten"
        );
    })
}

#[test]
fn replay_does_not_extend_a_ttl() {
    within(FILE_WATCHDOG, "Aof::execute and replay to finish", || {
        let (_dir, path) = log_path();
        log_commands(
            &path,
            Fsync::Always,
            T0,
            &[
                &["SET", "session", "s", "EX", "10"],
                &["SET", "flash", "f"],
                &["EXPIRE", "flash", "5"],
                &["SET", "token", "t", "PX", "3000"],
            ],
        );
        // Restarted 4 seconds later.
        let (db, _) = replayed(&path, T0 + 4_000);
        let pttl = |key: &str| match db.execute(&cmd(&["PTTL", key])) {
            Frame::Integer(ms) => ms,
            other => panic!("PTTL {key} answered {other:?}"),
        };
        let session = pttl("session");
        assert!(
            (5_500..=6_000).contains(&session),
            "SET session EX 10, replayed 4 s later, has about 6000 ms left, not {session}: \
             a relative time in the log restarts the countdown at every restart"
        );
        let flash = pttl("flash");
        assert!(
            (500..=1_000).contains(&flash),
            "EXPIRE flash 5, replayed 4 s later, has about 1000 ms left, not {flash}"
        );
        assert_get(
            &db,
            "token",
            None,
            "(SET token PX 3000, replayed 4 s later: expired)",
        );

        // Restarted a minute later: everything has expired.
        let (db, _) = replayed(&path, T0 + 60_000);
        assert_get(&db, "session", None, "(SET EX 10, replayed 60 s later)");
        assert_get(&db, "flash", None, "(EXPIRE 5, replayed 60 s later)");
    })
}

#[test]
fn a_missing_file_is_an_empty_log() {
    within(FILE_WATCHDOG, "replay of a missing file to finish", || {
        let (_dir, path) = log_path();
        let (db, result) = replayed(&path, T0);
        assert_eq!(
            result,
            Replayed {
                applied: 0,
                torn_tail_bytes: 0
            },
            "replay of a file that does not exist yet (the first start)"
        );
        assert_eq!(db.dbsize(), 0, "nothing to replay");
    })
}

// ---------------------------------------------------------------------------
// Torn and corrupt files
// ---------------------------------------------------------------------------

#[test]
fn a_torn_last_record_is_dropped_at_every_cut() {
    within(
        FILE_WATCHDOG,
        "replay of every cut of the log to finish",
        || {
            let (dir, path) = log_path();
            log_commands(
                &path,
                Fsync::No,
                T0,
                &[&["SET", "a", "1"], &["RPUSH", "list", "x"]],
            );
            let complete = std::fs::metadata(&path).expect("the log").len() as usize;
            log_commands(
                &path,
                Fsync::No,
                T0,
                &[&["SET", "last", "record-1234567890"]],
            );
            let full = std::fs::read(&path).expect("the log");
            assert!(full.len() > complete, "the third SET made the file longer");

            // A crash can stop the last write after any byte of it.
            for cut in complete..full.len() {
                let torn = dir.path().join(format!("torn-{cut}.aof"));
                std::fs::write(&torn, &full[..cut]).expect("write the torn copy");
                let db = db();
                let result = replay(&torn, &db, T0).unwrap_or_else(|e| {
                panic!(
                    "a log cut {} bytes into its last record must be recovered, not refused: {e}",
                    cut - complete
                )
            });
                assert_eq!(
                    result,
                    Replayed {
                        applied: 2,
                        torn_tail_bytes: cut - complete
                    },
                    "log cut {} bytes into its last record ({:?})",
                    cut - complete,
                    String::from_utf8_lossy(&full[complete..cut])
                );
                assert_get(
                    &db,
                    "a",
                    Some("1"),
                    "(a complete record before the torn one)",
                );
                assert_get(&db, "last", None, "(its record is torn)");
                let left = std::fs::metadata(&torn).expect("the torn log").len() as usize;
                assert_eq!(
                    left, complete,
                    "replay must cut the file back to the end of the last complete record \
                 ({complete} bytes), so that the next record does not follow half of one"
                );
            }
        },
    )
}

#[test]
fn writes_after_a_recovered_torn_tail_survive_the_next_restart() {
    within(
        FILE_WATCHDOG,
        "replay, Aof::execute and replay again to finish",
        || {
            let (_dir, path) = log_path();
            log_commands(
                &path,
                Fsync::No,
                T0,
                &[&["SET", "a", "1"], &["SET", "b", "2"]],
            );
            let full = std::fs::read(&path).expect("the log");
            std::fs::write(&path, &full[..full.len() - 5]).expect("tear the last record");

            // First restart: recover, then serve one more write.
            let (db, first) = replayed(&path, T0);
            assert_eq!(first.applied, 1, "one complete record before the torn one");
            Aof::open(&path, Fsync::Always)
                .expect("Aof::open after replay")
                .execute(&db, &cmd(&["SET", "c", "3"]), T0)
                .expect("Aof::execute");

            // Second restart: the new record must be readable.
            let db = db_from_second_restart(&path);
            assert_get(&db, "a", Some("1"), "after the second restart");
            assert_get(
                &db,
                "c",
                Some("3"),
                "(written after the first restart) after the second restart",
            );
        },
    )
}

#[track_caller]
fn db_from_second_restart(path: &Path) -> Db {
    let db = db();
    match replay(path, &db, T0) {
        Ok(_) => db,
        Err(e) => panic!(
            "the second restart failed: {e}. The torn tail found by the first replay was \
             left in the file, and the next record was appended after it"
        ),
    }
}

#[test]
fn garbage_in_the_middle_is_an_error_not_skipped() {
    within(FILE_WATCHDOG, "replay of a corrupt log to finish", || {
        let cases: [(&str, &[u8]); 3] = [
            ("a line of text", b"hello world\r\n"),
            ("a bad bulk length", b"*2\r\n$3\r\nGET\r\n$x\r\n"),
            ("a stray integer", b":42\r\n"),
        ];
        for (what, garbage) in cases {
            let (_dir, path) = log_path();
            let mut file = encoded(&["SET", "a", "1"]);
            file.extend_from_slice(garbage);
            file.extend_from_slice(&encoded(&["SET", "b", "2"]));
            std::fs::write(&path, &file).expect("write the log");
            let db = db();
            match replay(&path, &db, T0) {
                Err(e) => assert_eq!(
                    e.kind(),
                    std::io::ErrorKind::InvalidData,
                    "a corrupt log ({what} between two records) is InvalidData: {e}"
                ),
                Ok(result) => panic!(
                    "a log with {what} between two records must be refused (an error the operator \
                     sees), not replayed as {result:?}: the records after it would be lost silently"
                ),
            }
            let after = std::fs::read(&path).expect("the log");
            assert_eq!(
                after, file,
                "a corrupt log must be left as it is, for the operator to inspect"
            );
        }
    })
}

#[test]
fn concurrent_writers_replay_to_the_state_they_left() {
    within(
        FILE_WATCHDOG,
        "two threads to do 2000 writes each, and replay to finish",
        || {
            let (_dir, path) = log_path();
            let aof = Arc::new(Aof::open(&path, Fsync::No).expect("Aof::open"));
            let live = Arc::new(db());
            // Both threads start writing at the same moment, so that they overlap.
            let start = Arc::new(std::sync::Barrier::new(2));
            let writers: Vec<_> = (0..2)
                .map(|t| {
                    let (aof, live, start) =
                        (Arc::clone(&aof), Arc::clone(&live), Arc::clone(&start));
                    thread::spawn(move || {
                        start.wait();
                        for i in 0..1000 {
                            let value = format!("{t}-{i}");
                            aof.execute(&live, &cmd(&["RPUSH", "list", &value]), T0)
                                .expect("Aof::execute");
                            aof.execute(&live, &cmd(&["SET", "last", &value]), T0)
                                .expect("Aof::execute");
                        }
                    })
                })
                .collect();
            for w in writers {
                w.join().expect("a writer thread panicked");
            }
            let (db, _) = replayed(&path, T0);
            for request in [&["LRANGE", "list", "0", "-1"][..], &["GET", "last"][..]] {
                assert_eq!(
                    db.execute(&cmd(request)),
                    live.execute(&cmd(request)),
                    "{request:?} after replay differs from the running store: the log's order must be \
                 the order in which the commands changed the store"
                );
            }
        },
    )
}

// ---------------------------------------------------------------------------
// Rewriting the log
// ---------------------------------------------------------------------------

/// A store whose clock the test can move, and its clock.
fn db_with_clock() -> (Db, Clock) {
    let clock = Clock::new();
    (Db::new(4, clock.clone()), clock)
}

/// `<log path>.rewrite`, the rewrite's temporary file.
fn temp_of(path: &Path) -> PathBuf {
    let mut temp = path.to_path_buf().into_os_string();
    temp.push(".rewrite");
    PathBuf::from(temp)
}

#[test]
fn a_rewrite_replays_to_the_same_data_in_fewer_bytes() {
    within(FILE_WATCHDOG, "Aof::rewrite and replay to finish", || {
        let (_dir, path) = log_path();
        let aof = Aof::open(&path, Fsync::No).expect("Aof::open");
        let (live, clock) = db_with_clock();
        let run = |words: &[&str]| {
            aof.execute(&live, &cmd(words), T0)
                .unwrap_or_else(|e| panic!("Aof::execute({words:?}): {e}"));
        };
        for _ in 0..500 {
            run(&["INCR", "counter"]);
        }
        run(&["SET", "name", "ann"]);
        run(&["RPUSH", "list", "a", "b", "c"]);
        run(&["LPOP", "list"]);
        run(&["SET", "session", "x", "PX", "60000"]);
        run(&["SET", "gone", "y", "PX", "1000"]);
        clock.advance(Duration::from_secs(2)); // `gone` has expired
        let before = std::fs::metadata(&path).expect("the log").len();
        let done = aof.rewrite(&live, T0 + 2000, || {}).expect("Aof::rewrite");
        let after = std::fs::metadata(&path).expect("the rewritten log").len();
        assert_eq!(
            done,
            exercise_24::Rewritten { before, after },
            "Rewritten gives the log's length before and after"
        );
        assert!(
            after * 10 < before,
            "500 INCRs and the rest ({before} bytes) should rewrite to a few commands, got {after} bytes"
        );
        let (db, _) = replayed(&path, T0 + 2000);
        assert_get(
            &db,
            "counter",
            Some("500"),
            "after replaying the rewritten log",
        );
        assert_get(
            &db,
            "name",
            Some("ann"),
            "after replaying the rewritten log",
        );
        assert_get(
            &db,
            "gone",
            None,
            "(it had expired: a rewrite leaves it out)",
        );
        assert_eq!(
            db.execute(&cmd(&["LRANGE", "list", "0", "-1"])),
            Frame::Array(vec![bulk("b"), bulk("c")]),
            "the list after replaying the rewritten log"
        );
        match db.execute(&cmd(&["PTTL", "session"])) {
            Frame::Integer(ms) => assert!(
                (55_000..=58_000).contains(&ms),
                "session was set with PX 60000 at T0 and the log replayed 2 s later: PTTL about 58000, got {ms}"
            ),
            other => panic!("PTTL session: {other:?}"),
        }
        let text = std::fs::read(&path).expect("the rewritten log");
        assert!(
            !contains(&text, b"INCR"),
            "the rewritten log holds the counter's value, not its history"
        );
    });
}

#[test]
fn writes_during_a_rewrite_are_not_blocked_and_kept_exactly_once() {
    within(FILE_WATCHDOG, "a rewrite with writes during it", || {
        let (_dir, path) = log_path();
        let aof = Arc::new(Aof::open(&path, Fsync::No).expect("Aof::open"));
        let live = Arc::new(db());
        aof.execute(&live, &cmd(&["SET", "counter", "0"]), T0)
            .expect("Aof::execute");
        let mut writer = None;
        let mut finished_during = false;
        aof.rewrite(&live, T0, || {
            // Another thread writes while the new file is being made.
            let (aof, live) = (Arc::clone(&aof), Arc::clone(&live));
            let (done_tx, done_rx) = mpsc::channel();
            writer = Some(thread::spawn(move || {
                for i in 0..100 {
                    aof.execute(&live, &cmd(&["INCR", "counter"]), T0)
                        .expect("Aof::execute");
                    aof.execute(&live, &cmd(&["RPUSH", "list", &i.to_string()]), T0)
                        .expect("Aof::execute");
                }
                let _ = done_tx.send(());
            }));
            finished_during = done_rx.recv_timeout(Duration::from_secs(3)).is_ok();
        })
        .expect("Aof::rewrite");
        if let Some(writer) = writer {
            writer.join().expect("the writer thread panicked");
        }
        assert!(
            finished_during,
            "200 writes during the rewrite did not finish within 3 s: writers must not wait for the \
             rewrite (hold the lock only to take the snapshot and to switch files)"
        );
        let (db, _) = replayed(&path, T0);
        assert_get(
            &db,
            "counter",
            Some("100"),
            "after replay: the 100 INCRs made during the rewrite must be in the new log, each once",
        );
        assert_eq!(
            db.execute(&cmd(&["LLEN", "list"])),
            Frame::Integer(100),
            "the 100 RPUSHes made during the rewrite, after replay"
        );
    });
}

#[test]
fn writes_after_a_rewrite_go_to_the_new_log() {
    within(FILE_WATCHDOG, "a rewrite, then writes", || {
        let (_dir, path) = log_path();
        let aof = Aof::open(&path, Fsync::Always).expect("Aof::open");
        let live = db();
        aof.execute(&live, &cmd(&["SET", "before", "1"]), T0)
            .expect("Aof::execute");
        aof.rewrite(&live, T0, || {}).expect("Aof::rewrite");
        aof.execute(&live, &cmd(&["SET", "after", "2"]), T0)
            .expect("Aof::execute");
        aof.sync().expect("Aof::sync after a rewrite");
        let (db, _) = replayed(&path, T0);
        assert_get(&db, "before", Some("1"), "after replay");
        assert_get(
            &db,
            "after",
            Some("2"),
            "after replay: a write after the rewrite goes to the new log (the file now at the log's path)",
        );
        assert!(
            !temp_of(&path).exists(),
            "the temporary file was renamed over the log, not left beside it"
        );
    });
}

#[test]
fn a_failed_rewrite_leaves_the_old_log_in_use() {
    within(
        FILE_WATCHDOG,
        "a rewrite that cannot create its file",
        || {
            let (_dir, path) = log_path();
            let aof = Aof::open(&path, Fsync::No).expect("Aof::open");
            let live = db();
            aof.execute(&live, &cmd(&["SET", "a", "1"]), T0)
                .expect("Aof::execute");
            // A directory where the temporary file should go: creating it fails.
            std::fs::create_dir(temp_of(&path)).expect("a directory in the way");
            assert!(
                aof.rewrite(&live, T0, || {}).is_err(),
                "the rewrite cannot create <log>.rewrite: it returns the error"
            );
            aof.execute(&live, &cmd(&["SET", "b", "2"]), T0)
                .expect("Aof::execute after a failed rewrite");
            let (db, _) = replayed(&path, T0);
            assert_get(&db, "a", Some("1"), "after a failed rewrite");
            assert_get(
                &db,
                "b",
                Some("2"),
                "a write after a failed rewrite goes to the old log",
            );
        },
    );
}

#[test]
fn a_rewrite_replaces_what_a_crashed_rewrite_left_behind() {
    within(
        FILE_WATCHDOG,
        "a rewrite over a leftover <log>.rewrite",
        || {
            let (_dir, path) = log_path();
            let aof = Aof::open(&path, Fsync::No).expect("Aof::open");
            let live = db();
            aof.execute(&live, &cmd(&["INCR", "n"]), T0)
                .expect("Aof::execute");
            // An earlier rewrite died half-way through its file.
            std::fs::write(
                temp_of(&path),
                b"*3\r\n$3\r\nSET\r\n$1\r\nn\r\n$3\r\n100\r\n*2\r\n$4\r\nINCR",
            )
            .expect("a leftover temporary file");
            aof.rewrite(&live, T0, || {}).expect("Aof::rewrite");
            let (db, _) = replayed(&path, T0);
            assert_get(
                &db,
                "n",
                Some("1"),
                "the new log must hold the snapshot only: create <log>.rewrite afresh \
                 (truncate it), never append to what a crashed rewrite left there",
            );
        },
    );
}

#[test]
fn a_crash_in_the_middle_of_a_rewrite_leaves_every_write_in_the_log() {
    within(FILE_WATCHDOG, "a rewrite that dies half-way", || {
        let (_dir, path) = log_path();
        let aof = Aof::open(&path, Fsync::Always).expect("Aof::open");
        let live = db();
        for i in 0..50 {
            aof.execute(&live, &cmd(&["RPUSH", "list", &i.to_string()]), T0)
                .expect("Aof::execute");
        }
        let old_log = std::fs::read(&path).expect("the log");
        // The process dies after the new file is written, before the switch.
        let crashed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = aof.rewrite(&live, T0, || panic!("the machine lost power here"));
        }));
        assert!(crashed.is_err(), "the rewrite reached `during`");
        // What a restart finds on the disk: the log (and maybe a leftover
        // temporary file, which replay ignores).
        assert!(
            std::fs::read(&path).ok() == Some(old_log),
            "until the rename, the log must be the old log, untouched: write the new log to \
             <log>.rewrite, never over the log itself"
        );
        let (db, _) = replayed(&path, T0);
        assert_eq!(
            db.execute(&cmd(&["LLEN", "list"])),
            Frame::Integer(50),
            "a rewrite that dies before its rename must leave the old log whole: write the new \
             log to <log>.rewrite, never over the log itself"
        );
    });
}

// ---------------------------------------------------------------------------
// Pub/sub: the broker
// ---------------------------------------------------------------------------

const PUBSUB_WATCHDOG: Duration = Duration::from_secs(3);

fn broker(queue_limit: usize) -> Arc<Broker> {
    Arc::new(Broker::new(queue_limit))
}

fn subscribed(broker: &Arc<Broker>, channels: &[&str]) -> Subscriber {
    let mut subscriber = Subscriber::new(Arc::clone(broker));
    for channel in channels {
        subscriber.subscribe(Bytes::copy_from_slice(channel.as_bytes()));
    }
    subscriber
}

fn message(channel: &str, payload: &str) -> Message {
    Message {
        pattern: None,
        channel: Bytes::copy_from_slice(channel.as_bytes()),
        payload: Bytes::copy_from_slice(payload.as_bytes()),
    }
}

fn publish(broker: &Broker, channel: &str, payload: &str) -> usize {
    broker.publish(
        channel.as_bytes(),
        Bytes::copy_from_slice(payload.as_bytes()),
    )
}

/// Every message `subscriber` can receive without waiting (on the paused
/// clock, a second without one means there is none), and whether it then
/// found its queue closed.
async fn drain(subscriber: &mut Subscriber) -> (Vec<Message>, bool) {
    let mut got = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(1), subscriber.recv()).await {
            Ok(Some(message)) => got.push(message),
            Ok(None) => return (got, true),
            Err(_) => return (got, false),
        }
    }
}

#[test]
fn publish_reaches_every_subscriber_of_its_channel_and_counts_them() {
    block_on_paused(PUBSUB_WATCHDOG, "publish to two subscribers", || async {
        let broker = broker(16);
        let mut first = subscribed(&broker, &["news"]);
        let mut second = subscribed(&broker, &["news"]);
        let mut elsewhere = subscribed(&broker, &["sport"]);
        assert_eq!(
            publish(&broker, "news", "hello"),
            2,
            "PUBLISH news returns the number of subscribers it reached: 2"
        );
        for (name, subscriber) in [("first", &mut first), ("second", &mut second)] {
            let (got, _) = drain(subscriber).await;
            assert_eq!(
                got,
                vec![message("news", "hello")],
                "what the {name} subscriber of news received"
            );
        }
        let (got, _) = drain(&mut elsewhere).await;
        assert_eq!(got, vec![], "a subscriber of sport only must not get news");
    });
}

#[test]
fn publish_to_a_channel_nobody_subscribed_to_returns_zero() {
    within(PUBSUB_WATCHDOG, "publish to nobody", || {
        let broker = broker(16);
        let _other = subscribed(&broker, &["sport"]);
        assert_eq!(
            publish(&broker, "news", "hello"),
            0,
            "PUBLISH news with no subscriber"
        );
    });
}

#[test]
fn subscribe_counts_channels_and_a_repeat_changes_nothing() {
    block_on_paused(
        PUBSUB_WATCHDOG,
        "subscribe twice to one channel",
        || async {
            let broker = broker(16);
            let mut subscriber = Subscriber::new(Arc::clone(&broker));
            assert_eq!(
                subscriber.subscribe(Bytes::from_static(b"a")),
                1,
                "SUBSCRIBE a: 1 channel"
            );
            assert_eq!(
                subscriber.subscribe(Bytes::from_static(b"b")),
                2,
                "SUBSCRIBE b: 2 channels"
            );
            assert_eq!(
                subscriber.subscribe(Bytes::from_static(b"a")),
                2,
                "SUBSCRIBE a again: still 2 channels"
            );
            assert_eq!(
                subscriber.channels(),
                &[Bytes::from_static(b"a"), Bytes::from_static(b"b")][..],
                "the channels, in the order of subscription"
            );
            assert_eq!(
                publish(&broker, "a", "once"),
                1,
                "one subscriber of a, however often it subscribed"
            );
            let (got, _) = drain(&mut subscriber).await;
            assert_eq!(
                got,
                vec![message("a", "once")],
                "a message is delivered once"
            );
        },
    );
}

#[test]
fn unsubscribe_stops_delivery() {
    block_on_paused(PUBSUB_WATCHDOG, "unsubscribe, then publish", || async {
        let broker = broker(16);
        let mut subscriber = subscribed(&broker, &["a", "b"]);
        assert_eq!(
            subscriber.unsubscribe(b"a"),
            1,
            "UNSUBSCRIBE a leaves 1 channel"
        );
        assert_eq!(
            subscriber.unsubscribe(b"zzz"),
            1,
            "UNSUBSCRIBE of a channel it is not on"
        );
        assert_eq!(
            publish(&broker, "a", "after"),
            0,
            "PUBLISH a after the only subscriber left it"
        );
        assert_eq!(
            publish(&broker, "b", "still"),
            1,
            "PUBLISH b, still subscribed"
        );
        let (got, _) = drain(&mut subscriber).await;
        assert_eq!(got, vec![message("b", "still")], "only b's message arrives");
        assert_eq!(
            subscriber.channels(),
            &[Bytes::from_static(b"b")][..],
            "channels() after"
        );
    });
}

#[test]
fn a_dropped_subscriber_is_no_longer_counted() {
    within(PUBSUB_WATCHDOG, "drop a subscriber, then publish", || {
        let broker = broker(16);
        let stays = subscribed(&broker, &["news"]);
        let leaves = subscribed(&broker, &["news", "sport"]);
        drop(leaves);
        assert_eq!(
            publish(&broker, "news", "x"),
            1,
            "a client that disconnected (its Subscriber dropped) is not a receiver"
        );
        assert_eq!(publish(&broker, "sport", "x"), 0, "nobody is left on sport");
        drop(stays);
    });
}

#[test]
fn a_subscriber_that_falls_behind_is_disconnected() {
    within(
        PUBSUB_WATCHDOG,
        "publish past a subscriber's queue limit",
        || {
            let broker = broker(4);
            let slow = subscribed(&broker, &["news"]);
            for i in 0..4 {
                publish(&broker, "news", &format!("m{i}"));
            }
            assert!(
                !slow.is_disconnected(),
                "4 messages waiting is within the limit of 4: still connected"
            );
            publish(&broker, "news", "m4");
            assert!(
                slow.is_disconnected(),
                "a 5th message for a subscriber that has 4 waiting (the limit) must disconnect it, \
             as Redis's client-output-buffer-limit pubsub does"
            );
        },
    );
}

#[test]
fn a_disconnected_subscriber_queue_stops_growing() {
    block_on_paused(
        PUBSUB_WATCHDOG,
        "drain a subscriber that fell behind",
        || async {
            let broker = broker(4);
            let mut slow = subscribed(&broker, &["news"]);
            for i in 0..100 {
                publish(&broker, "news", &format!("m{i}"));
            }
            let (got, closed) = drain(&mut slow).await;
            let expected: Vec<_> = (0..4).map(|i| message("news", &format!("m{i}"))).collect();
            assert_eq!(
                got, expected,
                "a subscriber with a limit of 4 that read nothing while 100 messages were published \
             holds the first 4, no more: its queue must not grow past the limit"
            );
            assert!(
                closed,
                "after those 4, recv() returns None: the broker disconnected it (a dropped message \
             with the subscriber kept would lose messages without anyone knowing)"
            );
        },
    );
}

#[test]
fn publish_does_not_count_a_subscriber_it_disconnects() {
    block_on_paused(PUBSUB_WATCHDOG, "a slow and a fast subscriber", || async {
        let broker = broker(2);
        let slow = subscribed(&broker, &["news"]);
        let mut fast = subscribed(&broker, &["news"]);
        let mut counts = Vec::new();
        for i in 0..6 {
            counts.push(publish(&broker, "news", &format!("m{i}")));
            let got = fast.recv().await;
            assert_eq!(
                got,
                Some(message("news", &format!("m{i}"))),
                "the fast subscriber reads each message"
            );
        }
        assert_eq!(
            counts,
            vec![2, 2, 1, 1, 1, 1],
            "PUBLISH counts the subscribers the message was queued for: the slow one (limit 2) \
             is disconnected by the 3rd message, which it does not get"
        );
        assert!(
            !fast.is_disconnected(),
            "the fast subscriber stays connected"
        );
        drop(slow);
    });
}

#[test]
fn publish_never_waits_for_a_slow_subscriber() {
    within(
        PUBSUB_WATCHDOG,
        "1000 publishes to a subscriber that never reads (limit 2) return at once",
        || {
            let broker = broker(2);
            let _slow = subscribed(&broker, &["news"]);
            for i in 0..1000 {
                publish(&broker, "news", &format!("m{i}"));
            }
        },
    );
}

fn pmessage(pattern: &str, channel: &str, payload: &str) -> Message {
    Message {
        pattern: Some(Bytes::copy_from_slice(pattern.as_bytes())),
        ..message(channel, payload)
    }
}

#[test]
fn psubscribe_receives_messages_of_every_matching_channel() {
    block_on_paused(
        PUBSUB_WATCHDOG,
        "PSUBSCRIBE news.*, then publish",
        || async {
            let broker = broker(16);
            let mut subscriber = Subscriber::new(Arc::clone(&broker));
            assert_eq!(
                subscriber.psubscribe(Bytes::from_static(b"news.*")),
                1,
                "PSUBSCRIBE news.*: 1 subscription"
            );
            assert_eq!(
                publish(&broker, "news.tech", "rust"),
                1,
                "PUBLISH news.tech reaches the subscriber of news.* (a channel nobody named before)"
            );
            assert_eq!(
                publish(&broker, "news", "x"),
                0,
                "news does not match news.*"
            );
            assert_eq!(
                publish(&broker, "sport.news.a", "x"),
                0,
                "sport.news.a does not match news.*"
            );
            assert_eq!(
                publish(&broker, "news.h[i]", "x"),
                1,
                "news.h[i] matches news.*"
            );
            let (got, _) = drain(&mut subscriber).await;
            assert_eq!(
                got,
                vec![
                    pmessage("news.*", "news.tech", "rust"),
                    pmessage("news.*", "news.h[i]", "x")
                ],
                "the messages carry the pattern that matched"
            );
            assert_eq!(
                subscriber.patterns(),
                &[Bytes::from_static(b"news.*")][..],
                "patterns()"
            );
        },
    );
}

#[test]
fn a_channel_and_a_matching_pattern_both_deliver_and_both_count() {
    block_on_paused(
        PUBSUB_WATCHDOG,
        "SUBSCRIBE news.tech and PSUBSCRIBE news.*",
        || async {
            let broker = broker(16);
            let mut subscriber = subscribed(&broker, &["news.tech"]);
            assert_eq!(
                subscriber.psubscribe(Bytes::from_static(b"news.*")),
                2,
                "one channel and one pattern: the count in the reply is 2"
            );
            assert_eq!(
                publish(&broker, "news.tech", "twice"),
                2,
                "PUBLISH counts the delivery through the channel and the one through the pattern"
            );
            let (got, _) = drain(&mut subscriber).await;
            assert_eq!(
                got,
                vec![
                    message("news.tech", "twice"),
                    pmessage("news.*", "news.tech", "twice")
                ],
                "the subscriber gets the message once as a message, once as a pmessage"
            );
        },
    );
}

#[test]
fn punsubscribe_stops_pattern_delivery() {
    within(PUBSUB_WATCHDOG, "PUNSUBSCRIBE, then publish", || {
        let broker = broker(16);
        let mut subscriber = Subscriber::new(Arc::clone(&broker));
        subscriber.psubscribe(Bytes::from_static(b"news.*"));
        subscriber.psubscribe(Bytes::from_static(b"*"));
        assert_eq!(
            subscriber.punsubscribe(b"news.tech"),
            2,
            "PUNSUBSCRIBE compares patterns as given: news.tech is not one of them"
        );
        assert_eq!(
            subscriber.punsubscribe(b"news.*"),
            1,
            "PUNSUBSCRIBE news.* leaves 1"
        );
        assert_eq!(
            publish(&broker, "news.tech", "x"),
            1,
            "only * still matches"
        );
        assert_eq!(
            subscriber.punsubscribe(b"*"),
            0,
            "PUNSUBSCRIBE * leaves none"
        );
        assert_eq!(publish(&broker, "news.tech", "x"), 0, "no pattern left");
    });
}

// ---------------------------------------------------------------------------
// The server as a process
// ---------------------------------------------------------------------------

/// A running server program; killed (SIGKILL) when dropped.
struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Server {
    #[track_caller]
    fn start(aof: &Path, fsync: &str) -> Server {
        Server::start_with(aof, &["--appendfsync", fsync])
    }

    #[track_caller]
    fn start_with(aof: &Path, options: &[&str]) -> Server {
        assert!(
            !SERVER.is_empty(),
            "cargo builds the server program for the tests"
        );
        let log = aof.with_extension(format!("stderr-{}", unique()));
        let stderr = std::fs::File::create(&log).expect("a file for the server's stderr");
        let mut child = Command::new(SERVER)
            .args(["--port", "0"])
            .args(options)
            .arg("--appendonly")
            .arg(aof)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start the server program");
        let stdout = child.stdout.take().expect("the server's stdout");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(10)).unwrap_or_default();
        let port = line.trim().rsplit(':').next().and_then(|p| p.parse().ok());
        let mut server = Server {
            child,
            port: 0,
            log,
        };
        match port {
            Some(port) => server.port = port,
            None => panic!(
                "the server did not print `listening on ADDR` within 10 s (it printed {line:?}); \
                 its stderr:\n{}",
                server.stderr()
            ),
        }
        server
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to the server");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("set a read timeout");
        stream
    }

    /// SIGKILL: the process dies at once, between any two instructions.
    fn kill_9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill_9();
    }
}

fn unique() -> u64 {
    use std::sync::atomic::AtomicU64;
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Sends one command and reads one reply line (enough for +OK, $-1, :n and
/// short bulk strings, which is all these tests use).
fn ask(stream: &mut TcpStream, words: &[&str]) -> std::io::Result<String> {
    stream.write_all(&encoded(words))?;
    read_reply(stream)
}

/// Reads one reply, as [`ask`] does.
fn read_reply(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut reply = Vec::new();
    let mut byte = [0u8];
    loop {
        if stream.read(&mut byte)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        reply.push(byte[0]);
        if reply.ends_with(b"\r\n") {
            if reply[0] == b'$' && reply != b"$-1\r\n" {
                // A bulk string: its length line, then the data line.
                let header = reply.len();
                loop {
                    if stream.read(&mut byte)? == 0 {
                        return Err(std::io::ErrorKind::UnexpectedEof.into());
                    }
                    reply.push(byte[0]);
                    if reply.len() > header && reply.ends_with(b"\r\n") {
                        break;
                    }
                }
                return Ok(String::from_utf8_lossy(&reply[header..reply.len() - 2]).into_owned());
            }
            return Ok(String::from_utf8_lossy(&reply[..reply.len() - 2]).into_owned());
        }
    }
}

#[test]
fn kill_9_during_a_write_load_loses_no_acknowledged_write() {
    within(WATCHDOG, "a write load, kill -9, a restart", || {
        let (_dir, path) = log_path();
        let mut server = Server::start(&path, "always");
        let acked = Arc::new(Mutex::new(Vec::new()));
        let finished = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..4)
            .map(|t| {
                let mut stream = server.connect();
                let (acked, finished) = (Arc::clone(&acked), Arc::clone(&finished));
                thread::spawn(move || {
                    for i in 0..100_000 {
                        let (key, value) = (format!("key:{t}:{i}"), format!("value-{i}"));
                        match ask(&mut stream, &["SET", &key, &value]) {
                            Ok(reply) if reply == "+OK" => acked.lock().unwrap().push((key, value)),
                            _ => return,
                        }
                    }
                    finished.store(true, Ordering::Relaxed);
                })
            })
            .collect();
        let start = Instant::now();
        while acked.lock().unwrap().len() < 400 && start.elapsed() < Duration::from_secs(8) {
            thread::sleep(Duration::from_millis(5));
        }
        server.kill_9();
        for client in clients {
            client.join().expect("a client thread panicked");
        }
        assert!(
            !finished.load(Ordering::Relaxed),
            "the load should still have been running when the server was killed"
        );
        let acked = acked.lock().unwrap().clone();
        assert!(
            !acked.is_empty(),
            "no SET was acknowledged before the kill; the server's stderr:\n{}",
            server.stderr()
        );

        let server = Server::start(&path, "always");
        let mut stream = server.connect();
        let mut lost = Vec::new();
        for (key, value) in &acked {
            let got = ask(&mut stream, &["GET", key]).expect("GET after the restart");
            if &got != value {
                lost.push(key.clone());
            }
        }
        assert!(
            lost.is_empty(),
            "{} of {} acknowledged SETs are missing after kill -9 and a restart (first: {:?}): \
             with appendfsync always, a write is acknowledged only once it is in the file",
            lost.len(),
            acked.len(),
            lost.first()
        );
    });
}

#[test]
fn the_server_starts_on_a_torn_log_and_keeps_the_complete_records() {
    within(WATCHDOG, "start on a log whose last record is torn", || {
        let (_dir, path) = log_path();
        let mut file = encoded(&["SET", "kept", "yes"]);
        let last = encoded(&["SET", "torn", "no"]);
        file.extend_from_slice(&last[..last.len() - 3]);
        std::fs::write(&path, &file).expect("write the log");
        let server = Server::start(&path, "always");
        let mut stream = server.connect();
        let kept = ask(&mut stream, &["GET", "kept"]).expect("GET kept");
        assert_eq!(
            kept, "yes",
            "the complete record before the torn one is replayed"
        );
        let torn = ask(&mut stream, &["GET", "torn"]).expect("GET torn");
        assert_eq!(torn, "$-1", "the torn record is dropped");
        assert!(
            server.stderr().contains("torn tail of"),
            "the program reports the dropped tail (from replay's torn_tail_bytes); its stderr:\n{}",
            server.stderr()
        );
    });
}

#[test]
fn sigterm_syncs_the_log_and_exits_zero() {
    within(WATCHDOG, "writes, SIGTERM, a restart", || {
        let (_dir, path) = log_path();
        let mut server = Server::start(&path, "everysec");
        let mut stream = server.connect();
        for i in 0..50 {
            let reply = ask(&mut stream, &["SET", &format!("k{i}"), "v"]).expect("SET");
            assert_eq!(reply, "+OK", "the reply to SET k{i} v");
        }
        let status = Command::new("kill")
            .args(["-TERM", &server.child.id().to_string()])
            .status()
            .expect("run kill(1)");
        assert!(status.success(), "kill -TERM the server");
        let start = Instant::now();
        let exit = loop {
            if let Some(exit) = server.child.try_wait().expect("wait for the server") {
                break exit;
            }
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "the server should exit within 5 s of SIGTERM"
            );
            thread::sleep(Duration::from_millis(10));
        };
        assert!(
            exit.success(),
            "after SIGTERM the server should sync its log and exit with 0, not {exit}; stderr:\n{}",
            server.stderr()
        );
        drop(server);
        let server = Server::start(&path, "everysec");
        let mut stream = server.connect();
        let size = ask(&mut stream, &["DBSIZE"]).expect("DBSIZE after the restart");
        assert_eq!(
            size, ":50",
            "the 50 keys set before SIGTERM, after a restart"
        );
    });
}

#[test]
fn bgrewriteaof_compacts_the_log_of_a_running_server() {
    within(
        WATCHDOG,
        "BGREWRITEAOF on a running server, then a restart",
        || {
            let (_dir, path) = log_path();
            let mut server = Server::start(&path, "always");
            let mut stream = server.connect();
            for i in 1..=300 {
                let reply = ask(&mut stream, &["INCR", "counter"]).expect("INCR");
                assert_eq!(reply, format!(":{i}"));
            }
            let before = std::fs::metadata(&path).expect("the log").len();
            let reply = ask(&mut stream, &["BGREWRITEAOF"]).expect("BGREWRITEAOF");
            assert_eq!(reply, "+Background append only file rewriting started");
            // The rewrite runs beside the server: keep using it, and watch the
            // log shrink.
            let start = Instant::now();
            let mut i = 300;
            while std::fs::metadata(&path).map_or(before, |m| m.len()) >= before {
                i += 1;
                assert_eq!(
                    ask(&mut stream, &["INCR", "counter"]).expect("INCR during a rewrite"),
                    format!(":{i}")
                );
                assert!(
                    start.elapsed() < Duration::from_secs(5),
                    "the log ({before} bytes) did not shrink within 5 s of BGREWRITEAOF; stderr:\n{}",
                    server.stderr()
                );
                thread::sleep(Duration::from_millis(5));
            }
            i += 1;
            assert_eq!(
                ask(&mut stream, &["INCR", "counter"]).expect("INCR"),
                format!(":{i}")
            );
            server.kill_9();
            drop(server);
            let server = Server::start(&path, "always");
            let mut stream = server.connect();
            assert_eq!(
                ask(&mut stream, &["GET", "counter"]).expect("GET after the restart"),
                i.to_string(),
                "every INCR acknowledged before, during and after the rewrite, after kill -9 and a restart"
            );
        },
    );
}

// ---------------------------------------------------------------------------
// Pub/sub over the wire
// ---------------------------------------------------------------------------

/// Reads exactly `expected.len()` bytes and compares them with `expected`.
#[track_caller]
fn expect_bytes(stream: &mut TcpStream, expected: &[u8], what: &str) {
    let mut got = vec![0u8; expected.len()];
    if let Err(e) = stream.read_exact(&mut got) {
        panic!(
            "{what}: expected {:?}, the read failed: {e}",
            String::from_utf8_lossy(expected)
        );
    }
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(expected),
        "{what}"
    );
}

#[track_caller]
fn send(stream: &mut TcpStream, words: &[&str]) {
    stream.write_all(&encoded(words)).expect("send a command");
}

#[test]
fn a_subscriber_receives_published_messages_in_redis_format() {
    within(WATCHDOG, "SUBSCRIBE, PUBLISH, a message", || {
        let (_dir, path) = log_path();
        let server = Server::start(&path, "no");
        let mut subscriber = server.connect();
        send(&mut subscriber, &["SUBSCRIBE", "news", "sport"]);
        expect_bytes(
            &mut subscriber,
            b"*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$5\r\nsport\r\n:2\r\n",
            "the replies to SUBSCRIBE news sport (RESP2: one array per channel, with the count)",
        );
        let mut publisher = server.connect();
        let reply = ask(&mut publisher, &["PUBLISH", "news", "hello"]).expect("PUBLISH");
        assert_eq!(reply, ":1", "PUBLISH news hello reaches one subscriber");
        expect_bytes(
            &mut subscriber,
            b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n",
            "the message the subscriber receives",
        );
        let reply = ask(&mut publisher, &["PUBLISH", "weather", "rain"]).expect("PUBLISH");
        assert_eq!(reply, ":0", "PUBLISH on a channel nobody subscribed to");
    });
}

#[test]
fn a_resp3_subscriber_receives_push_frames_and_can_run_commands() {
    within(WATCHDOG, "HELLO 3, SUBSCRIBE, PUBLISH, GET", || {
        let (_dir, path) = log_path();
        let server = Server::start(&path, "no");
        let mut subscriber = server.connect();
        send(&mut subscriber, &["HELLO", "3"]);
        // The HELLO reply is a map that ends with `modules`, an empty array.
        let mut hello = Vec::new();
        let mut byte = [0u8];
        while !hello.ends_with(b"$7\r\nmodules\r\n*0\r\n") {
            subscriber
                .read_exact(&mut byte)
                .expect("the reply to HELLO 3");
            hello.push(byte[0]);
        }
        send(&mut subscriber, &["SUBSCRIBE", "news"]);
        expect_bytes(
            &mut subscriber,
            b">3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n",
            "the reply to SUBSCRIBE on a RESP3 connection is a push (>)",
        );
        let mut publisher = server.connect();
        ask(&mut publisher, &["SET", "k", "v"]).expect("SET");
        let reply = ask(&mut publisher, &["PUBLISH", "news", "hi"]).expect("PUBLISH");
        assert_eq!(reply, ":1", "PUBLISH news hi reaches the RESP3 subscriber");
        expect_bytes(
            &mut subscriber,
            b">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n",
            "a message on a RESP3 connection is a push",
        );
        send(&mut subscriber, &["GET", "k"]);
        expect_bytes(
            &mut subscriber,
            b"$1\r\nv\r\n",
            "RESP3 has no subscribed mode: GET works while subscribed",
        );
    });
}

#[test]
fn unsubscribe_over_the_wire_stops_messages() {
    within(WATCHDOG, "SUBSCRIBE, UNSUBSCRIBE, PUBLISH", || {
        let (_dir, path) = log_path();
        let server = Server::start(&path, "no");
        let mut subscriber = server.connect();
        send(&mut subscriber, &["SUBSCRIBE", "news"]);
        expect_bytes(
            &mut subscriber,
            b"*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n",
            "the reply to SUBSCRIBE news",
        );
        send(&mut subscriber, &["GET", "k"]);
        let refused = read_reply(&mut subscriber).unwrap_or_default();
        assert!(
            refused.starts_with("-ERR Can't execute 'get'"),
            "GET in RESP2's subscribed mode is refused, got {refused:?}"
        );
        send(&mut subscriber, &["UNSUBSCRIBE"]);
        expect_bytes(
            &mut subscriber,
            b"*3\r\n$11\r\nunsubscribe\r\n$4\r\nnews\r\n:0\r\n",
            "the reply to UNSUBSCRIBE (from every channel)",
        );
        let mut publisher = server.connect();
        let reply = ask(&mut publisher, &["PUBLISH", "news", "gone"]).expect("PUBLISH");
        assert_eq!(reply, ":0", "PUBLISH news after its only subscriber left");
        let reply = ask(&mut subscriber, &["PING"]).expect("PING");
        assert_eq!(
            reply, "+PONG",
            "out of subscribed mode, PING is a plain +PONG again (and no message came before it)"
        );
    });
}

#[test]
fn a_subscriber_that_never_reads_is_disconnected_while_a_fast_one_gets_everything() {
    within(
        WATCHDOG,
        "one slow and one fast subscriber of 64 KiB messages",
        || {
            const SIZE: usize = 64 * 1024;
            // Far more than the socket buffers of the slow client (a few MiB on
            // Linux) plus its queue of 8 messages.
            const MOST: usize = 600;
            let (_dir, path) = log_path();
            let server = Server::start_with(&path, &["--appendfsync", "no", "--pubsub-queue", "8"]);
            let header = b"*3\r\n$9\r\nsubscribe\r\n$3\r\nbig\r\n:1\r\n";
            let mut slow = server.connect();
            send(&mut slow, &["SUBSCRIBE", "big"]);
            expect_bytes(
                &mut slow,
                header,
                "the slow subscriber's reply to SUBSCRIBE big",
            );
            let mut fast = server.connect();
            send(&mut fast, &["SUBSCRIBE", "big"]);
            expect_bytes(
                &mut fast,
                header,
                "the fast subscriber's reply to SUBSCRIBE big",
            );

            // The fast subscriber reads every message on a thread of its own
            // and reports each one's number.
            let (got, received) = mpsc::channel::<usize>();
            thread::spawn(move || {
                let prefix =
                    format!("*3\r\n$7\r\nmessage\r\n$3\r\nbig\r\n${SIZE}\r\n").into_bytes();
                let mut frame = vec![0u8; prefix.len() + SIZE + 2];
                while fast.read_exact(&mut frame).is_ok() && frame.starts_with(&prefix) {
                    let number = String::from_utf8_lossy(&frame[prefix.len()..prefix.len() + 8]);
                    if got.send(number.parse().unwrap_or(usize::MAX)).is_err() {
                        return;
                    }
                }
            });

            let mut publisher = server.connect();
            let mut disconnected_at = None;
            for i in 0..MOST {
                let mut payload = format!("{i:08}").into_bytes();
                payload.resize(SIZE, b'.');
                let payload = String::from_utf8(payload).expect("ASCII");
                let reply = ask(&mut publisher, &["PUBLISH", "big", &payload])
                    .unwrap_or_else(|e| panic!("PUBLISH number {i} got no reply: {e}"));
                let number = received.recv_timeout(Duration::from_secs(5));
                assert_eq!(
                    number,
                    Ok(i),
                    "the fast subscriber must receive message {i} (in order, none lost)"
                );
                match reply.as_str() {
                    ":2" => {}
                    ":1" => {
                        disconnected_at.get_or_insert(i);
                        if i >= disconnected_at.unwrap_or(i) + 20 {
                            break;
                        }
                    }
                    other => panic!("PUBLISH number {i} answered {other:?}, expected :2 or :1"),
                }
            }
            let Some(at) = disconnected_at else {
                panic!(
                    "after {MOST} messages of 64 KiB, the subscriber that never reads was still \
                 counted by PUBLISH: its queue (limit 8) must have overflowed long ago, and it \
                 must then be disconnected instead of buffering without end"
                );
            };
            // The slow client reads what the kernel buffered for it, then must
            // find the connection closed.
            slow.set_read_timeout(Some(Duration::from_secs(5)))
                .expect("set a read timeout");
            let mut buffered = 0usize;
            let mut chunk = vec![0u8; 1 << 16];
            loop {
                match slow.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => buffered += n,
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
                    Err(e) => panic!(
                        "the slow subscriber (disconnected at message {at}) must find its connection \
                     closed by the server; after {buffered} bytes the read failed: {e}"
                    ),
                }
            }
            assert!(
                buffered < at * SIZE,
                "the slow subscriber got {buffered} bytes, as much as the {at} messages published \
             before it was disconnected: it was not behind at all?"
            );
        },
    );
}

#[test]
fn psubscribe_over_the_wire_gets_pmessage_frames() {
    within(WATCHDOG, "PSUBSCRIBE, PUBLISH, a pmessage", || {
        let (_dir, path) = log_path();
        let server = Server::start(&path, "no");
        let mut subscriber = server.connect();
        send(&mut subscriber, &["PSUBSCRIBE", "news.*"]);
        expect_bytes(
            &mut subscriber,
            b"*3\r\n$10\r\npsubscribe\r\n$6\r\nnews.*\r\n:1\r\n",
            "the reply to PSUBSCRIBE news.*",
        );
        let mut publisher = server.connect();
        let reply = ask(&mut publisher, &["PUBLISH", "news.tech", "rust"]).expect("PUBLISH");
        assert_eq!(
            reply, ":1",
            "PUBLISH news.tech reaches the pattern's subscriber"
        );
        expect_bytes(
            &mut subscriber,
            b"*4\r\n$8\r\npmessage\r\n$6\r\nnews.*\r\n$9\r\nnews.tech\r\n$4\r\nrust\r\n",
            "a message received through a pattern: pmessage, the pattern, the channel, the payload",
        );
        send(&mut subscriber, &["PUNSUBSCRIBE"]);
        expect_bytes(
            &mut subscriber,
            b"*3\r\n$12\r\npunsubscribe\r\n$6\r\nnews.*\r\n:0\r\n",
            "the reply to PUNSUBSCRIBE (from every pattern)",
        );
        let reply = ask(&mut publisher, &["PUBLISH", "news.tech", "gone"]).expect("PUBLISH");
        assert_eq!(reply, ":0", "PUBLISH after PUNSUBSCRIBE");
    });
}
