//! The specification of exercise 05: a duplicate-file finder.
//!
//! Every test builds a small tree in a temporary directory, runs your code
//! on it, either as a library (`find_duplicates`, `scan`, `confirm`) or as
//! the `dupfinder` program, and compares the result exactly. Each body runs
//! under a watchdog: code that hangs fails after 5 s with a message.

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use exercise_05::{
    Candidates, Group, Options, PREFIX_LEN, Progress, Report, confirm, find_duplicates, scan,
    write_json_lines, write_text,
};
use testkit::{LIMIT, TwoThreadProbe, WAIT_FOR_THE_OTHER_THREAD, within};

// ---------------------------------------------------------------- helpers

/// `len` bytes whose every byte depends on `seed`: two different seeds give
/// files that differ from the first byte on.
fn content(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 ^ seed).collect()
}

/// Writes `bytes` to `root/rel`, creating the directories on the way.
fn put(root: &Path, rel: &str, bytes: &[u8]) -> PathBuf {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, bytes).unwrap();
    path
}

/// The group the tests expect: `rels` under `root`, sorted like a Report's.
fn group(root: &Path, size: usize, rels: &[&str]) -> Group {
    let mut paths: Vec<PathBuf> = rels.iter().map(|r| root.join(r)).collect();
    paths.sort();
    Group {
        size: size as u64,
        paths,
    }
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("creating a temporary directory")
}

fn defaults() -> Options {
    Options::default()
}

fn error_paths(report: &Report) -> Vec<PathBuf> {
    report.errors.iter().map(|e| e.path.clone()).collect()
}

// ANCHOR: run_binary
/// The program under test: `dupfinder` in the exercise, `dupfinder-reference`
/// in the solution, which shares this file. Cargo builds a package's
/// binaries before its integration tests and tells them where they are, at
/// compile time, in `CARGO_BIN_EXE_<name>`.
const DUPFINDER: &str = match option_env!("CARGO_BIN_EXE_dupfinder") {
    Some(path) => path,
    None => match option_env!("CARGO_BIN_EXE_dupfinder-reference") {
        Some(path) => path,
        None => panic!("this package has no dupfinder binary"),
    },
};

/// Runs the `dupfinder` binary of this package with `args` and returns its
/// exit status, stdout and stderr.
fn dupfinder(args: &[&Path]) -> Output {
    let mut command = Command::new(DUPFINDER);
    command.args(args);
    run(command)
}

/// Runs `command` and returns its exit status, stdout and stderr. Kills it
/// if it runs for more than 8 s, so that a program stuck in a loop does not
/// outlive the test run.
fn run(mut command: Command) -> Output {
    // Output goes to files, not pipes: a child that writes a lot can never
    // block on a full pipe while we wait for it to exit.
    let capture = tempdir();
    let stdout_path = capture.path().join("stdout");
    let stderr_path = capture.path().join("stderr");
    let mut child = command
        .stdout(File::create(&stdout_path).unwrap())
        .stderr(File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {command:?}: {e}"));
    let deadline = Instant::now() + Duration::from_secs(8);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for the child") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} was still running after 8 s, and was killed");
        }
        thread::sleep(Duration::from_millis(5));
    };
    Output {
        status,
        stdout: fs::read(&stdout_path).unwrap(),
        stderr: fs::read(&stderr_path).unwrap(),
    }
}
// ANCHOR_END: run_binary

/// A rayon pool of exactly `threads` threads, for tests that need to know
/// where the work runs.
fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("building a rayon thread pool for the test")
}

fn describe(out: &Output) -> String {
    format!(
        "exit status {:?}\n--- stdout:\n{}--- stderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

// ------------------------------------------------------- the library: groups

#[test]
fn finds_identical_files_in_nested_directories() {
    within(LIMIT, "find_duplicates on a tree of 4 small files", || {
        let dir = tempdir();
        let root = dir.path();
        put(root, "a/report.txt", &content(100, 1));
        put(root, "b/c/d/copy.txt", &content(100, 1));
        put(root, "b/other.txt", &content(60, 2));
        put(root, "unique.bin", &content(200, 3));

        let report = find_duplicates(&[root.to_path_buf()], &defaults());

        assert_eq!(
            report.groups,
            vec![group(root, 100, &["a/report.txt", "b/c/d/copy.txt"])],
            "expected exactly one group: the two 100-byte files with the same \
             content, in different directories (paths sorted)"
        );
        assert!(
            report.errors.is_empty(),
            "expected no errors on a plain tree; got {:?}",
            report.errors
        );
    });
}

#[test]
fn files_of_equal_size_but_different_content_are_not_grouped() {
    within(LIMIT, "find_duplicates on same-size files", || {
        let dir = tempdir();
        let root = dir.path();
        let big = content(10_000, 4);
        let mut big_last_differs = big.clone();
        *big_last_differs.last_mut().unwrap() ^= 0xff;
        put(root, "big1", &big);
        put(root, "big2", &big_last_differs);
        put(root, "big3", &big);
        put(root, "small1", &content(100, 5));
        put(root, "small2", &content(100, 6));

        let report = find_duplicates(&[root.to_path_buf()], &defaults());

        assert_eq!(
            report.groups,
            vec![group(root, 10_000, &["big1", "big3"])],
            "expected only big1 and big3 (identical) in a group. big2 has their size \
             and their first {PREFIX_LEN} bytes but differs in its LAST byte; small1 \
             and small2 have one size but different bytes. Equal size is not enough, \
             and neither is an equal beginning."
        );
    });
}

#[test]
fn empty_files_are_skipped_unless_include_empty_is_set() {
    within(
        LIMIT,
        "find_duplicates with and without include_empty",
        || {
            let dir = tempdir();
            let root = dir.path();
            put(root, "e1", b"");
            put(root, "e2", b"");
            put(root, "sub/e3", b"");
            put(root, "x", b"0123456789");
            put(root, "y", b"0123456789");
            let roots = [root.to_path_buf()];

            let report = find_duplicates(&roots, &defaults());
            assert_eq!(
                report.groups,
                vec![group(root, 10, &["x", "y"])],
                "by default (include_empty: false), empty files are ignored: \
             expected only the group of x and y"
            );

            let opts = Options {
                include_empty: true,
                ..Options::default()
            };
            let report = find_duplicates(&roots, &opts);
            assert_eq!(
                report.groups,
                vec![
                    group(root, 10, &["x", "y"]),
                    group(root, 0, &["e1", "e2", "sub/e3"]),
                ],
                "with include_empty: true, all empty files form one group (of size 0, \
             so it comes last: groups are sorted by size, largest first)"
            );
        },
    );
}

#[test]
fn another_name_for_the_same_file_is_not_a_duplicate() {
    within(
        LIMIT,
        "find_duplicates with hard links and symlinks",
        || {
            let dir = tempdir();
            let root = dir.path();
            let a = put(root, "a", &content(3000, 7));
            fs::hard_link(&a, root.join("hard")).unwrap();
            symlink(&a, root.join("soft")).unwrap();
            put(root, "copy", &content(3000, 7));
            let solo = put(root, "solo", &content(500, 8));
            fs::hard_link(&solo, root.join("solo-link")).unwrap();

            for follow_links in [false, true] {
                let opts = Options {
                    follow_links,
                    ..Options::default()
                };
                let report = find_duplicates(&[root.to_path_buf()], &opts);
                assert_eq!(
                    report.groups,
                    vec![group(root, 3000, &["a", "copy"])],
                    "(follow_links: {follow_links}) `hard` is a hard link to `a` and `soft` \
                 a symlink to it: they are the same file (same device and inode), not \
                 copies. Expected one group: `a` (the smallest name of that file) and \
                 `copy` (a real second copy); `solo` and its hard link `solo-link` are \
                 one file and no group."
                );
                assert!(
                    report.errors.is_empty(),
                    "(follow_links: {follow_links}) expected no errors; got {:?}",
                    report.errors
                );
            }
        },
    );
}

#[test]
fn a_file_reached_through_two_roots_is_counted_once() {
    within(LIMIT, "find_duplicates with overlapping roots", || {
        let dir = tempdir();
        let root = dir.path();
        put(root, "x", &content(50, 9));
        put(root, "sub/y", &content(50, 9));
        put(root, "sub/z", &content(70, 10));

        let roots = [root.to_path_buf(), root.join("sub"), root.to_path_buf()];
        let report = find_duplicates(&roots, &defaults());

        assert_eq!(
            report.groups,
            vec![group(root, 50, &["sub/y", "x"])],
            "the roots overlap (dir, dir/sub, dir again), so the walk meets every \
             file more than once; a file is not a duplicate of itself. Expected one \
             group, each file listed once"
        );
    });
}

#[test]
fn groups_are_sorted_by_size_then_by_path() {
    within(LIMIT, "find_duplicates with several groups", || {
        let dir = tempdir();
        let root = dir.path();
        for rel in ["a/1", "b/1"] {
            put(root, rel, &content(10, 11));
        }
        for rel in ["b/3", "a/2", "b/2"] {
            put(root, rel, &content(5000, 12));
        }
        for rel in ["b/4", "a/3"] {
            put(root, rel, &content(300, 13));
        }
        for rel in ["b/5", "a/4"] {
            put(root, rel, &content(300, 14));
        }

        // The roots in reverse order: the result must not depend on it.
        let roots = [root.join("b"), root.join("a")];
        let report = find_duplicates(&roots, &defaults());

        assert_eq!(
            report.groups,
            vec![
                group(root, 5000, &["a/2", "b/2", "b/3"]),
                group(root, 300, &["a/3", "b/4"]),
                group(root, 300, &["a/4", "b/5"]),
                group(root, 10, &["a/1", "b/1"]),
            ],
            "expected the groups ordered by size, largest first, equal sizes ordered \
             by their first path; and the paths inside a group sorted ascending"
        );
    });
}

// ------------------------------------------------- the library: bad input

#[test]
fn symlink_loops_and_broken_symlinks_are_reported_and_skipped() {
    within(
        LIMIT,
        "find_duplicates to finish on a tree with a symlink loop (a walk that \
         follows the loop never ends)",
        || {
            let dir = tempdir();
            let root = dir.path();
            put(root, "a", &content(40, 15));
            put(root, "sub/b", &content(40, 15));
            symlink("..", root.join("sub/loop")).unwrap();
            symlink(root.join("missing"), root.join("broken")).unwrap();

            let follow = Options {
                follow_links: true,
                ..Options::default()
            };
            let report = find_duplicates(&[root.to_path_buf()], &follow);
            assert_eq!(
                report.groups,
                vec![group(root, 40, &["a", "sub/b"])],
                "following links: the loop and the broken link must not change the groups"
            );
            assert_eq!(
                error_paths(&report),
                vec![root.join("broken"), root.join("sub/loop")],
                "following links: expected one error for the broken link `broken` and \
                 one for `sub/loop` (a link to its own parent), sorted by path; got {:?}",
                report.errors
            );
            assert!(
                report.errors.iter().all(|e| !e.message.is_empty()),
                "every error needs a message saying what went wrong; got {:?}",
                report.errors
            );

            let report = find_duplicates(&[root.to_path_buf()], &defaults());
            assert_eq!(
                (report.groups, report.errors),
                (vec![group(root, 40, &["a", "sub/b"])], vec![]),
                "not following links (the default), symlinks are simply not files: \
                 expected the same group and no errors"
            );
        },
    );
}

/// Gives a path its permissions back when dropped, so that the temporary
/// directory can be deleted even when an assertion failed.
struct Restore(PathBuf, u32);

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = fs::set_permissions(&self.0, fs::Permissions::from_mode(self.1));
    }
}

/// Runs `dupfinder` as the unprivileged user `nobody` (uid and gid 65534)
/// through util-linux's `setpriv`, for a test running as root; an error
/// saying why when that is not possible here.
fn dupfinder_as_nobody(args: &[&Path]) -> Result<Output, String> {
    let as_nobody = |args: &[&OsStr]| {
        let mut command = Command::new("setpriv");
        command
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(DUPFINDER)
            .args(args);
        command
    };
    // Can nobody run the binary at all (setpriv installed, every directory
    // above the binary open to others)?
    match as_nobody(&[OsStr::new("--version")]).output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            return Err(format!(
                "`setpriv ... dupfinder --version` as nobody failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Err(e) => return Err(format!("cannot run setpriv: {e}")),
    }
    let args: Vec<&OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    Ok(run(as_nobody(&args)))
}

#[test]
fn unreadable_directories_and_files_are_reported_and_skipped() {
    within(
        LIMIT,
        "find_duplicates on a tree with chmod-000 parts",
        || {
            let dir = tempdir();
            let root = dir.path();
            // Open to others, so that the half below that runs as `nobody`
            // can read everything but the two mode-000 entries.
            fs::set_permissions(root, fs::Permissions::from_mode(0o755)).unwrap();
            for rel in ["a", "b"] {
                let path = put(root, rel, &content(64, 16));
                fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
            }
            put(root, "locked/c", &content(64, 16));
            let secret = put(root, "secret", &content(64, 16));
            let locked = root.join("locked");
            fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
            let _locked_back = Restore(locked.clone(), 0o755);
            fs::set_permissions(&secret, fs::Permissions::from_mode(0o000)).unwrap();
            let _secret_back = Restore(secret.clone(), 0o644);

            let report = find_duplicates(&[root.to_path_buf()], &defaults());

            if fs::read_dir(&locked).is_err() {
                assert_eq!(
                    report.groups,
                    vec![group(root, 64, &["a", "b"])],
                    "expected the group of a and b: `locked/` cannot be listed and \
                     `secret` cannot be read, so neither may appear in a group"
                );
                assert_eq!(
                    error_paths(&report),
                    vec![locked, secret],
                    "expected one error for the directory `locked` and one for the \
                     file `secret`, sorted by path; got {:?}",
                    report.errors
                );
                return;
            }

            // The superuser (root, as in many containers) may read anything,
            // mode 000 or not: the library sees nothing unreadable, and the
            // test checks the other half of the contract, everything grouped.
            assert_eq!(
                (report.groups, report.errors),
                (
                    vec![group(root, 64, &["a", "b", "locked/c", "secret"])],
                    vec![]
                ),
                "(running as a user who can read mode-000 files, e.g. root) \
                 expected all four copies in one group and no errors"
            );
            // The unreadable half then runs the program as `nobody`.
            let out = match dupfinder_as_nobody(&[root]) {
                Ok(out) => out,
                Err(why) => {
                    eprintln!(
                        "note: running as root, so mode 000 hides nothing from the \
                         library; the check of unreadable entries was SKIPPED, as \
                         dupfinder cannot run as nobody here ({why})"
                    );
                    return;
                }
            };
            eprintln!(
                "note: running as root; the check of unreadable entries ran the \
                 dupfinder binary as user nobody (setpriv)"
            );
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            let expected = format!(
                "{}\n{}\n\n",
                root.join("a").display(),
                root.join("b").display()
            );
            assert_eq!(
                (out.status.code(), stdout.as_ref()),
                (Some(2), expected.as_str()),
                "(dupfinder run as user nobody) `locked/` cannot be listed and \
                 `secret` cannot be read: expected exit status 2 and the group of a \
                 and b only\n{}",
                describe(&out)
            );
            for unreadable in [&locked, &secret] {
                let line = format!("dupfinder: {}: ", unreadable.display());
                assert!(
                    stderr.lines().filter(|l| l.starts_with(&line)).count() == 1,
                    "(dupfinder run as user nobody) expected one error line on stderr \
                     starting with {line:?}\n{}",
                    describe(&out)
                );
            }
        },
    );
}

#[test]
fn a_file_deleted_before_hashing_is_reported_and_left_out() {
    within(LIMIT, "scan, then confirm after deleting files", || {
        let dir = tempdir();
        let root = dir.path();
        for rel in ["a", "b", "c"] {
            put(root, rel, &content(10_000, 17));
        }
        for rel in ["d", "e"] {
            put(root, rel, &content(50, 18));
        }
        let progress = Progress::default();
        let candidates = scan(&[root.to_path_buf()], &defaults(), &progress);
        assert_eq!(
            candidates,
            Candidates {
                groups: vec![
                    group(root, 10_000, &["a", "b", "c"]),
                    group(root, 50, &["d", "e"])
                ],
                errors: vec![],
            },
            "scan should group the files by size only, sorted like a Report"
        );

        // Files vanish between the walk and the hashing (another program
        // deleted them): that must be reported, not trusted, not a crash.
        fs::remove_file(root.join("b")).unwrap();
        fs::remove_file(root.join("e")).unwrap();
        let report = confirm(candidates, &progress, |_| {});

        assert_eq!(
            report.groups,
            vec![group(root, 10_000, &["a", "c"])],
            "b and e were deleted after the scan: expected the group of a and c only \
             (d is left alone, so it is no group)"
        );
        assert_eq!(
            error_paths(&report),
            vec![root.join("b"), root.join("e")],
            "expected one error for each deleted file; got {:?}",
            report.errors
        );
    });
}

#[test]
fn a_file_that_changes_size_before_hashing_is_not_grouped() {
    within(LIMIT, "scan, then confirm after changing files", || {
        let dir = tempdir();
        let root = dir.path();
        for rel in ["a", "b", "c"] {
            put(root, rel, &content(10_000, 19));
        }
        for rel in ["d", "e"] {
            put(root, rel, &content(100, 20));
        }
        let progress = Progress::default();
        let candidates = scan(&[root.to_path_buf()], &defaults(), &progress);

        // b grows by one byte and e shrinks: they no longer have the size the
        // scan saw, so comparing them with their old group means nothing.
        let mut grown = content(10_000, 19);
        grown.push(0);
        fs::write(root.join("b"), grown).unwrap();
        fs::write(root.join("e"), content(50, 20)).unwrap();
        let report = confirm(candidates, &progress, |_| {});

        assert_eq!(
            report.groups,
            vec![group(root, 10_000, &["a", "c"])],
            "b grew and e shrank after the scan: expected only the group of a and c"
        );
        assert_eq!(
            error_paths(&report),
            vec![root.join("b"), root.join("e")],
            "a file whose size changed between scan and confirm must be reported \
             (check the number of bytes you read against the group's size); got {:?}",
            report.errors
        );
    });
}

#[test]
fn a_small_file_that_grows_before_hashing_is_not_grouped() {
    within(LIMIT, "scan, then confirm after a small file grew", || {
        let dir = tempdir();
        let root = dir.path();
        for rel in ["a", "b", "c"] {
            put(root, rel, &content(100, 33));
        }
        let progress = Progress::default();
        let candidates = scan(&[root.to_path_buf()], &defaults(), &progress);

        // b keeps its 100 bytes and gains one more. Its first 100 bytes still
        // match a and c, so only a size check can tell it apart; and a file
        // this small never reaches the full-hash pass.
        let mut grown = content(100, 33);
        grown.push(0);
        fs::write(root.join("b"), grown).unwrap();
        let report = confirm(candidates, &progress, |_| {});

        assert_eq!(
            report.groups,
            vec![group(root, 100, &["a", "c"])],
            "b grew from 100 to 101 bytes after the scan: expected only the group of \
             a and c. Files of at most PREFIX_LEN bytes are read whole by the first \
             pass, so that pass must check their size too (reading just `size` bytes \
             cannot notice that a file grew)"
        );
        assert_eq!(
            error_paths(&report),
            vec![root.join("b")],
            "expected one error for b, whose size changed; got {:?}",
            report.errors
        );
    });
}

#[test]
fn progress_counters_reach_their_totals() {
    within(LIMIT, "scan and confirm, updating a Progress", || {
        let dir = tempdir();
        let root = dir.path();
        for rel in ["x1", "x2", "sub/x3"] {
            put(root, rel, &content(10_000, 21));
        }
        put(root, "y1", &content(10_000, 22));
        put(root, "y2", &content(10_000, 23));
        put(root, "unique", &content(777, 24));
        put(root, "empty1", b"");
        put(root, "empty2", b"");

        let progress = Progress::default();
        let candidates = scan(&[root.to_path_buf()], &defaults(), &progress);
        assert_eq!(
            progress.files_found.load(Ordering::Relaxed),
            8,
            "after scan, files_found should count the 8 regular files (empty ones too)"
        );
        let report = confirm(candidates, &progress, |_| {});
        assert_eq!(report.groups.len(), 1, "expected one group (x1, x2, x3)");
        assert_eq!(
            progress.candidates.load(Ordering::Relaxed),
            5,
            "after confirm, candidates should be the 5 files of 10,000 bytes \
             (the only size shared by several files)"
        );
        assert_eq!(
            progress.candidates_done.load(Ordering::Relaxed),
            5,
            "after confirm, candidates_done should equal candidates: every candidate \
             settled exactly once"
        );
        let read = progress.bytes_read.load(Ordering::Relaxed);
        assert!(
            read >= 30_000,
            "bytes_read should count the bytes read while hashing; x1, x2 and x3 had \
             to be read in full (30,000 bytes), but bytes_read is {read}"
        );
    });
}

#[test]
fn files_that_differ_in_their_first_bytes_are_told_apart_by_the_prefix_alone() {
    within(
        LIMIT,
        "confirm on two 1 MiB files that differ at byte 0",
        || {
            let dir = tempdir();
            let root = dir.path();
            let size = 1 << 20;
            put(root, "a", &content(size, 31));
            put(root, "b", &content(size, 32));
            let candidates = Candidates {
                groups: vec![group(root, size, &["a", "b"])],
                errors: Vec::new(),
            };
            let progress = Progress::default();
            let report = confirm(candidates, &progress, |_| {});
            assert!(
                report.groups.is_empty(),
                "a and b differ from their first byte on: no group, got {:?}",
                report.groups
            );
            let read = progress.bytes_read.load(Ordering::Relaxed);
            // Each file's first PREFIX_LEN bytes tell them apart; a little slack
            // for a reader that reads a few more bytes than it hashes.
            let allowed = 2 * PREFIX_LEN + 2 * 8192;
            assert!(
                read <= allowed,
                "two 1 MiB files that differ at byte 0 should cost one prefix each \
             (about 2 x {PREFIX_LEN} bytes), but bytes_read is {read}: the first pass \
             must hash only the prefix, and only files whose prefixes match are read \
             in full"
            );
        },
    );
}

#[test]
fn confirm_hashes_files_on_several_threads_at_once() {
    within(
        LIMIT,
        "confirm to finish on 9 files in a pool of 2 threads",
        || {
            let dir = tempdir();
            let root = dir.path();
            // Three sizes, three files each: in every size, two copies and
            // one file that differs from the first byte on.
            for (size, seed) in [(5_000, 41), (6_000, 42), (7_000, 43)] {
                put(root, &format!("{size}-a"), &content(size, seed));
                put(root, &format!("{size}-b"), &content(size, seed));
                put(root, &format!("{size}-c"), &content(size, seed + 100));
            }
            let progress = Progress::default();
            let candidates = scan(&[root.to_path_buf()], &defaults(), &progress);

            let probe = TwoThreadProbe::new();
            let report = pool(2).install(|| confirm(candidates, &progress, |_| probe.hit()));

            assert!(
                !probe.called_outside_pool(),
                "on_read was called on a thread outside the rayon pool: hash the files \
                 with a parallel iterator (into_par_iter & co.), which uses the \
                 caller's pool, and call on_read where each file is read"
            );
            assert!(
                probe.both_seen(),
                "inside a pool of 2 threads, every call of on_read came from the same \
                 thread (the first call waited {WAIT_FOR_THE_OTHER_THREAD:?} for the \
                 other thread). confirm must hash the candidates in parallel (a \
                 parallel iterator over the groups, their files, or both) and call \
                 on_read on the thread that reads each file"
            );
            assert_eq!(
                report.groups,
                vec![
                    group(root, 7_000, &["7000-a", "7000-b"]),
                    group(root, 6_000, &["6000-a", "6000-b"]),
                    group(root, 5_000, &["5000-a", "5000-b"]),
                ],
                "expected the three pairs of copies, in a 2-thread pool too"
            );
        },
    );
}

#[test]
fn progress_counts_each_file_as_soon_as_it_is_settled() {
    within(
        LIMIT,
        "confirm to finish on 6 files in a pool of 1 thread",
        || {
            let dir = tempdir();
            let root = dir.path();
            // Six files of one size and one first 4 KiB: none is settled by
            // the prefix pass, all six are read in full. Three pairs of copies
            // that differ only in their last byte.
            let base = content(10_000, 44);
            for (i, name) in ["f1", "f2", "f3", "f4", "f5", "f6"].iter().enumerate() {
                let mut bytes = base.clone();
                *bytes.last_mut().unwrap() ^= (i / 2 + 1) as u8;
                put(root, name, &bytes);
            }
            let progress = Progress::default();
            let candidates = scan(&[root.to_path_buf()], &defaults(), &progress);

            // One thread: the files are read one after the other, so when
            // the last one is about to be read, the five before it are done.
            let seen = Mutex::new(Vec::new());
            let report = pool(1).install(|| {
                confirm(candidates, &progress, |_| {
                    let candidates = progress.candidates.load(Ordering::Relaxed);
                    let done = progress.candidates_done.load(Ordering::Relaxed);
                    seen.lock().unwrap().push((candidates, done));
                })
            });
            let seen = seen.into_inner().unwrap();

            assert_eq!(
                report.groups,
                vec![
                    group(root, 10_000, &["f1", "f2"]),
                    group(root, 10_000, &["f3", "f4"]),
                    group(root, 10_000, &["f5", "f6"]),
                ],
                "expected the three pairs that differ from each other in the last byte"
            );
            assert_eq!(
                seen.len(),
                12,
                "on_read must be called each time a pass reads a file: 6 prefix reads \
                 and 6 full reads; got {} calls",
                seen.len()
            );
            assert!(
                seen.iter().all(|&(candidates, _)| candidates == 6),
                "progress.candidates must be 6 (the paths confirm has to settle) \
                 before the first file is read; (candidates, candidates_done) at each \
                 read: {seen:?}"
            );
            let (_, done_before_last) = seen[11];
            assert!(
                done_before_last >= 5,
                "when the 6th file was about to be read in full, candidates_done was \
                 {done_before_last}, but 5 files had been hashed in full by then. Count \
                 each file as soon as it is settled, not a whole group or pass at once \
                 (a progress bar would jump from 0 to the end). (candidates, \
                 candidates_done) at each read: {seen:?}"
            );
            assert_eq!(
                progress.candidates_done.load(Ordering::Relaxed),
                6,
                "at the end, candidates_done must equal candidates"
            );
        },
    );
}

#[test]
fn each_failing_path_is_reported_once_even_with_overlapping_roots() {
    within(LIMIT, "find_duplicates with a root given twice", || {
        let dir = tempdir();
        let root = dir.path();
        put(root, "a", &content(40, 45));
        put(root, "sub/b", &content(40, 45));
        symlink("..", root.join("sub/loop")).unwrap();
        symlink(root.join("missing"), root.join("broken")).unwrap();
        let gone = root.join("no-such-dir");

        // `dupfinder -L d d`: every path under d is met twice.
        let roots = [
            root.to_path_buf(),
            gone.clone(),
            root.to_path_buf(),
            gone.clone(),
        ];
        let follow = Options {
            follow_links: true,
            ..Options::default()
        };
        let report = find_duplicates(&roots, &follow);

        assert_eq!(
            report.groups,
            vec![group(root, 40, &["a", "sub/b"])],
            "the same root twice: expected the group of a and sub/b, once"
        );
        assert_eq!(
            error_paths(&report),
            vec![root.join("broken"), gone, root.join("sub/loop")],
            "each failing path must be reported once, even when overlapping roots \
                 reach it twice (the user should not read every error twice); got {:?}",
            report.errors
        );
    });
}

/// Opens a named pipe for writing, without waiting, when dropped. A reader
/// stuck in `open` on it (code that waits for a writer) is released then, so
/// that a failing test does not leave a thread of rayon's pool blocked.
struct ReleaseReaders(PathBuf);

impl Drop for ReleaseReaders {
    fn drop(&mut self) {
        let _ = OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&self.0);
    }
}

#[test]
fn a_file_replaced_by_a_named_pipe_is_reported_without_waiting() {
    let dir = tempdir();
    let root = dir.path().to_path_buf();
    let _release = ReleaseReaders(root.join("b"));
    within(
        LIMIT,
        "confirm to finish although b became a named pipe (FIFO); opening a FIFO \
         for reading waits for a writer, unless it is opened with O_NONBLOCK",
        move || {
            for rel in ["a", "b", "c"] {
                put(&root, rel, &content(10_000, 46));
            }
            let progress = Progress::default();
            let candidates = scan(std::slice::from_ref(&root), &defaults(), &progress);

            // Between the scan and the hashing, b is replaced by a FIFO.
            fs::remove_file(root.join("b")).unwrap();
            let made = Command::new("mkfifo")
                .arg(root.join("b"))
                .status()
                .expect("running mkfifo");
            assert!(made.success(), "mkfifo failed");

            let report = confirm(candidates, &progress, |_| {});
            assert_eq!(
                report.groups,
                vec![group(&root, 10_000, &["a", "c"])],
                "b is a named pipe now, not a file: expected only the group of a and c"
            );
            assert_eq!(
                error_paths(&report),
                vec![root.join("b")],
                "expected one error for b, which is no longer a regular file (check \
                 the metadata of the file you opened); got {:?}",
                report.errors
            );
        },
    );
}

#[test]
fn errors_name_the_path_that_failed_in_the_tools_own_words() {
    within(
        LIMIT,
        "find_duplicates on a tree with self-referencing symlinks, and a scan of /proc/1",
        || {
            let dir = tempdir();
            let root = dir.path();
            put(root, "a", &content(30, 47));
            put(root, "b", &content(30, 47));
            symlink("self", root.join("self")).unwrap();
            symlink("pong", root.join("ping")).unwrap();
            symlink("ping", root.join("pong")).unwrap();

            let follow = Options {
                follow_links: true,
                ..Options::default()
            };
            let report = find_duplicates(&[root.to_path_buf()], &follow);
            assert_eq!(
                report.groups,
                vec![group(root, 30, &["a", "b"])],
                "following links: the loops must not change the groups"
            );
            assert_eq!(
                error_paths(&report),
                vec![root.join("ping"), root.join("pong"), root.join("self")],
                "following links: expected an error for each of the links `self` (to \
                 itself), `ping` and `pong` (to each other); got {:?}",
                report.errors
            );
            for error in &report.errors {
                assert!(
                    error.message.contains("symbolic link loop")
                        && !error.message.contains("os error"),
                    "the error for {} should say \"symbolic link loop\" in the tool's \
                     own words, like the error for a loop through a directory, not the \
                     system's \"Too many levels of symbolic links (os error 40)\" \
                     (io::Error::raw_os_error() is libc::ELOOP then); got {:?}",
                    error.path.display(),
                    error.message
                );
            }

            // A directory that can be opened but not listed: Linux's
            // /proc/PID/map_files, for a process that may not inspect PID's
            // memory map. walkdir reports that failure without a path.
            let parent = Path::new("/proc/1");
            let unlistable = parent.join("map_files");
            let fails_listing = fs::read_dir(&unlistable)
                .map(|mut entries| entries.next().is_some_and(|e| e.is_err()))
                .unwrap_or(false);
            if !fails_listing || fs::read_dir(parent).is_err() {
                eprintln!(
                    "note: the unlistable-directory half of this test was SKIPPED: \
                     {} can be listed here, or does not exist",
                    unlistable.display()
                );
                return;
            }
            let progress = Progress::default();
            let candidates = scan(&[parent.to_path_buf()], &defaults(), &progress);
            let paths: Vec<&Path> = candidates.errors.iter().map(|e| e.path.as_path()).collect();
            assert!(
                paths.contains(&unlistable.as_path()) && !paths.contains(&parent),
                "listing {} fails: the error must name that directory, not {}, the \
                 root of the walk (walkdir's error has no path then, only a depth: \
                 remember which directory is being listed at each depth); errors: {:?}",
                unlistable.display(),
                parent.display(),
                candidates.errors
            );
        },
    );
}

// ------------------------------------------------------- the library: output

/// A group with a file name that is not UTF-8: `caf\xe9.jpg`, the Latin-1
/// spelling of "café" that old cameras and archives still produce.
fn group_with_a_latin1_name() -> Vec<Group> {
    vec![Group {
        size: 5,
        paths: vec![
            PathBuf::from("/photos/cafe.jpg"),
            PathBuf::from(OsStr::from_bytes(b"/photos/caf\xe9.jpg")),
        ],
    }]
}

#[test]
fn write_text_writes_names_that_are_not_utf8_byte_for_byte() {
    within(LIMIT, "write_text to return", || {
        let mut out = Vec::new();
        write_text(&group_with_a_latin1_name(), &mut out).expect("write_text into a Vec");
        // Compared as escaped text (\n, \xe9), so that a failure is readable.
        assert_eq!(
            out.escape_ascii().to_string(),
            b"/photos/cafe.jpg\n/photos/caf\xe9.jpg\n\n"
                .escape_ascii()
                .to_string(),
            "expected both paths, one per line, then an empty line. The second name \
             holds the byte 0xE9, which is not UTF-8: write_text must write a path's \
             bytes unchanged (`as_os_str().as_bytes()`), not a lossy copy such as \
             `display()` gives (\\xef\\xbf\\xbd, U+FFFD), or the printed name names \
             no file"
        );
    });
}

#[test]
fn write_json_lines_replaces_bytes_that_are_not_utf8() {
    within(LIMIT, "write_json_lines to return", || {
        let mut out = Vec::new();
        write_json_lines(&group_with_a_latin1_name(), &mut out)
            .expect("write_json_lines into a Vec");
        let text = String::from_utf8(out).expect("JSON output must be UTF-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "expected one line for one group; got {text:?}"
        );
        let value: serde_json::Value = serde_json::from_str(lines[0])
            .unwrap_or_else(|e| panic!("the line must be a JSON object: {e}: {:?}", lines[0]));
        assert_eq!(
            value,
            serde_json::json!({
                "size": 5,
                "paths": ["/photos/cafe.jpg", "/photos/caf\u{FFFD}.jpg"],
            }),
            "a JSON string must be Unicode: the byte 0xE9 that is not UTF-8 becomes \
             U+FFFD (`to_string_lossy`)"
        );
    });
}

// ------------------------------------------------------- the program

#[test]
fn cli_prints_one_json_line_per_group_and_exits_1() {
    within(LIMIT, "`dupfinder --json DIR` to finish", || {
        let dir = tempdir();
        let root = dir.path();
        put(root, "p/one", &content(20, 25));
        put(root, "q/two", &content(20, 25));
        put(root, "r", &content(10, 26));
        put(root, "s", &content(10, 26));
        put(root, "t", &content(30, 27));

        let out = dupfinder(&[Path::new("--json"), root]);

        assert_eq!(
            out.status.code(),
            Some(1),
            "exit status 1 means duplicates were found\n{}",
            describe(&out)
        );
        let text = String::from_utf8(out.stdout.clone()).expect("stdout should be UTF-8");
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("each line must be a JSON object: {e}: {line:?}"))
            })
            .collect();
        let s = |rel: &str| root.join(rel).to_str().unwrap().to_string();
        assert_eq!(
            lines,
            vec![
                serde_json::json!({"size": 20, "paths": [s("p/one"), s("q/two")]}),
                serde_json::json!({"size": 10, "paths": [s("r"), s("s")]}),
            ],
            "expected one JSON object per line and group, largest size first\n{}",
            describe(&out)
        );
        assert!(
            out.stderr.is_empty(),
            "expected nothing on stderr: no errors, and no progress bar when stderr \
             is not a terminal\n{}",
            describe(&out)
        );
    });
}

#[test]
fn cli_prints_groups_like_fdupes_by_default() {
    within(LIMIT, "`dupfinder DIR` to finish", || {
        let dir = tempdir();
        let root = dir.path();
        put(root, "b", &content(20, 28));
        put(root, "a", &content(20, 28));
        put(root, "c", &content(20, 29));

        let out = dupfinder(&[root]);

        let expected = format!(
            "{}\n{}\n\n",
            root.join("a").display(),
            root.join("b").display()
        );
        assert_eq!(
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).into_owned()
            ),
            (Some(1), expected),
            "expected exit status 1 and the group as fdupes prints it: one path per \
             line, then an empty line\n{}",
            describe(&out)
        );
    });
}

#[test]
fn cli_exits_0_and_prints_nothing_without_duplicates() {
    within(LIMIT, "`dupfinder DIR` to finish", || {
        let dir = tempdir();
        let root = dir.path();
        put(root, "a", &content(20, 30));
        put(root, "b", &content(20, 31));
        put(root, "c", &content(21, 30));

        let out = dupfinder(&[root]);

        assert_eq!(
            (out.status.code(), out.stdout.is_empty()),
            (Some(0), true),
            "no two files are identical: expected exit status 0 and empty stdout\n{}",
            describe(&out)
        );
    });
}

#[test]
fn cli_reports_a_missing_root_on_stderr_and_exits_2() {
    within(LIMIT, "`dupfinder --json DIR MISSING` to finish", || {
        let dir = tempdir();
        let root = dir.path();
        put(root, "a", &content(20, 32));
        put(root, "b", &content(20, 32));
        let missing = root.join("no-such-dir");

        let out = dupfinder(&[Path::new("--json"), root, &missing]);

        assert_eq!(
            out.status.code(),
            Some(2),
            "a root that does not exist is an error: expected exit status 2\n{}",
            describe(&out)
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("no-such-dir"),
            "expected stderr to name the missing root\n{}",
            describe(&out)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).lines().count(),
            1,
            "an error does not stop the scan: expected the group of a and b from the \
             other root on stdout\n{}",
            describe(&out)
        );
    });
}
