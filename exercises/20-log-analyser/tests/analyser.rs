//! The tests of exercise 20. They check that `analyse` gives exactly the
//! report of the given slow analyser: on small logs written out here, and on
//! generated logs with thousands of lines. How fast it is, the tests do not
//! check (a timed test fails on a busy machine): `compare.sh` measures that.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::time::Duration;

use exercise_20::{Report, analyse, analyse_slow, days_from_civil, generate_log};

const LIMIT: Duration = Duration::from_secs(10);

/// A well-formed line from `client` for `path` with `status` and `bytes`, at
/// 10:15:32 local time on 28 Nov 2026 in UTC+01:00.
fn line(client: &str, path: &str, status: u16, bytes: &str) -> String {
    format!(
        "{client} - - [28/Nov/2026:10:15:32 +0100] \"GET {path} HTTP/1.1\" {status} {bytes} \"-\" \"curl/8.5\"\n"
    )
}

/// Runs the learner's analyser under the watchdog.
#[track_caller]
fn fast(log: &[u8], top: usize) -> Report {
    let log = log.to_vec();
    testkit::within(LIMIT, "analyse returns within 10 s", move || {
        analyse(&log[..], top).expect("reading from a byte slice cannot fail")
    })
}

/// Fails unless `analyse` and `analyse_slow` agree on `log`.
#[track_caller]
fn assert_same_as_slow(log: &[u8], top: usize, what: &str) {
    let expected = analyse_slow(log, top).expect("the slow analyser reads the log");
    let got = fast(log, top);
    assert_eq!(
        got, expected,
        "{what}: analyse (left) differs from analyse_slow (right), the oracle"
    );
}

/// The hour of 28 Nov 2026 at `hour`:00 UTC, as a key of `bytes_per_hour`.
fn utc_hour(hour: i64) -> i64 {
    days_from_civil(2026, 11, 28) * 24 + hour
}

#[test]
fn counts_clients_paths_statuses_and_bytes_of_a_small_log() {
    let log = [
        line("10.0.0.1", "/a", 200, "100"),
        line("10.0.0.2", "/a", 404, "20"),
        line("10.0.0.1", "/b", 200, "3"),
    ]
    .concat();
    let report = fast(log.as_bytes(), 10);
    assert_eq!(report.lines, 3, "three lines");
    assert_eq!(report.malformed, 0, "no line is malformed");
    assert_eq!(
        report.top_clients,
        vec![("10.0.0.1".to_string(), 2), ("10.0.0.2".to_string(), 1)],
        "top clients: most requests first"
    );
    assert_eq!(
        report.top_paths,
        vec![("/a".to_string(), 2), ("/b".to_string(), 1)],
        "top paths: most requests first"
    );
    assert_eq!(report.status, BTreeMap::from([(200, 2), (404, 1)]));
    assert_eq!(
        report.bytes_per_hour,
        BTreeMap::from([(utc_hour(9), 123)]),
        "10:15 at +0100 is 09:15 UTC: all 123 bytes in the hour 09:00 UTC"
    );
}

#[test]
fn malformed_lines_are_counted_and_add_nothing_else() {
    let good = line("10.0.0.1", "/a", 200, "5");
    let broken = [
        "",
        "garbage",
        "10.0.0.9 - - [28/Nov/2026:10:15:32 +0100] \"GET / HTTP/1.1\" 200",
        "10.0.0.9 - - [28/Nov/2026:10:15:32 +0100] \"GET / HTTP/1.1\" 2x0 12",
        "10.0.0.9 - - [28/Nov/2026:10:15:32 +0100] \"GET / HTTP/1.1\" 600 12",
        "10.0.0.9 - - [28/Nov/2026:10:15:32 +0100] \"GET / HTTP/1.1\" 200 12a",
        "10.0.0.9 - - [28/Nov/2026:10:15:32 +0100] \"GET / HTTP/1.1\" 200 1234567890123",
        "10.0.0.9 - - [28/Foo/2026:10:15:32 +0100] \"GET / HTTP/1.1\" 200 12",
        "10.0.0.9 - - [28/Nov/2026:24:15:32 +0100] \"GET / HTTP/1.1\" 200 12",
        "10.0.0.9 - - [28/Nov/2026:10:15:32 0100] \"GET / HTTP/1.1\" 200 12",
        "10.0.0.9 - - 28/Nov/2026:10:15:32 +0100] \"GET / HTTP/1.1\" 200 12",
        "10.0.0.9 - - [28/Nov/2026:10:15:32 +0100] \"GET /a b HTTP/1.1\" 200 12",
        "10.0.0.9  - [28/Nov/2026:10:15:32 +0100] \"GET / HTTP/1.1\" 200 12",
    ];
    for bad in broken {
        let log = format!("{good}{bad}\n{good}");
        let report = fast(log.as_bytes(), 5);
        assert_eq!(
            (report.lines, report.malformed),
            (3, 1),
            "in a log of two good lines around {bad:?}: 3 lines, 1 malformed"
        );
        assert_eq!(
            report.top_clients,
            vec![("10.0.0.1".to_string(), 2)],
            "the malformed line {bad:?} must not be counted as a request"
        );
        assert_eq!(report.status, BTreeMap::from([(200, 2)]), "for {bad:?}");
        assert_same_as_slow(log.as_bytes(), 5, &format!("around {bad:?}"));
    }
}

#[test]
fn a_line_that_is_not_utf8_is_malformed() {
    let mut log = line("10.0.0.1", "/a", 200, "5").into_bytes();
    log.extend_from_slice(
        b"10.0.0.9 - - [28/Nov/2026:10:15:32 +0100] \"GET /\xff HTTP/1.1\" 200 12\n",
    );
    let report = fast(&log, 5);
    assert_eq!(
        (report.lines, report.malformed),
        (2, 1),
        "the line with byte 0xFF is malformed"
    );
    assert_eq!(report.top_paths, vec![("/a".to_string(), 1)]);
}

#[test]
fn crlf_line_endings_and_a_last_line_without_newline_count() {
    let log = [
        // Ten fields only: the \r follows the bytes field.
        "10.0.0.1 - - [28/Nov/2026:10:15:32 +0100] \"GET /a HTTP/1.1\" 200 5\r\n".to_string(),
        line("10.0.0.1", "/a", 200, "7").trim_end().to_string(),
    ]
    .concat();
    let report = fast(log.as_bytes(), 5);
    assert_eq!(
        (report.lines, report.malformed),
        (2, 0),
        "a line ending in \\r\\n and a last line without \\n are both well-formed"
    );
    assert_eq!(report.bytes_per_hour, BTreeMap::from([(utc_hour(9), 12)]));
}

#[test]
fn a_dash_for_bytes_counts_as_zero() {
    let log = [
        line("10.0.0.1", "/a", 304, "-"),
        line("10.0.0.1", "/a", 200, "9"),
    ]
    .concat();
    let report = fast(log.as_bytes(), 5);
    assert_eq!(report.malformed, 0, "`-` in the bytes field is well-formed");
    assert_eq!(report.bytes_per_hour, BTreeMap::from([(utc_hour(9), 9)]));
    assert_eq!(report.status, BTreeMap::from([(200, 1), (304, 1)]));
}

#[test]
fn the_status_histogram_has_every_code_from_100_to_599() {
    let codes = [100, 101, 200, 204, 301, 304, 404, 418, 500, 599];
    let log: String = codes
        .iter()
        .map(|&c| line("10.0.0.1", "/", c, "1"))
        .collect();
    let report = fast(log.as_bytes(), 5);
    let expected: BTreeMap<u16, u64> = codes.iter().map(|&c| (c, 1)).collect();
    assert_eq!(
        report.status, expected,
        "one request for each of these codes"
    );
}

#[test]
fn top_n_breaks_ties_by_ascending_address() {
    // Three clients with 2 requests each, one with 3: the ties are ordered
    // by address, byte by byte ("10.0.0.10" < "10.0.0.2").
    let log: String = [
        "10.0.0.2",
        "10.0.0.10",
        "10.0.0.3",
        "10.0.0.2",
        "10.0.0.3",
        "10.0.0.10",
        "10.0.0.9",
        "10.0.0.9",
        "10.0.0.9",
    ]
    .iter()
    .map(|c| line(c, "/", 200, "1"))
    .collect();
    let report = fast(log.as_bytes(), 3);
    assert_eq!(
        report.top_clients,
        vec![
            ("10.0.0.9".to_string(), 3),
            ("10.0.0.10".to_string(), 2),
            ("10.0.0.2".to_string(), 2),
        ],
        "most requests first; equal counts in ascending order of the address"
    );
}

#[test]
fn top_n_returns_exactly_n_entries_or_all_when_there_are_fewer() {
    let log: String = (1..=6)
        .flat_map(|i| {
            (0..i).map(move |_| line(&format!("10.0.0.{i}"), &format!("/p{i}"), 200, "1"))
        })
        .collect();
    for top in [0, 1, 5, 6, 7, 100] {
        let report = fast(log.as_bytes(), top);
        let expected: Vec<(String, u64)> = (1..=6u64)
            .rev()
            .take(top)
            .map(|i| (format!("10.0.0.{i}"), i))
            .collect();
        assert_eq!(report.top_clients, expected, "the top {top} of 6 clients");
        assert_eq!(
            report.top_paths.len(),
            top.min(6),
            "the top {top} of 6 paths"
        );
    }
}

#[test]
fn bytes_are_bucketed_by_the_hour_in_utc() {
    let at = |time: &str, zone: &str, bytes: u32| {
        format!("10.0.0.1 - - [{time} {zone}] \"GET / HTTP/1.1\" 200 {bytes} \"-\" \"-\"\n")
    };
    let log = [
        at("28/Nov/2026:10:59:59", "+0100", 1),  // 09:59 UTC
        at("28/Nov/2026:09:00:00", "+0000", 2),  // 09:00 UTC
        at("28/Nov/2026:02:30:00", "-0700", 4),  // 09:30 UTC
        at("28/Nov/2026:15:00:00", "+0530", 8),  // 09:30 UTC
        at("29/Nov/2026:00:30:00", "+0100", 16), // 23:30 UTC on the 28th
        at("27/Nov/2026:20:00:00", "-0400", 32), // 00:00 UTC on the 28th
    ]
    .concat();
    let report = fast(log.as_bytes(), 5);
    assert_eq!(report.malformed, 0);
    assert_eq!(
        report.bytes_per_hour,
        BTreeMap::from([(utc_hour(0), 32), (utc_hour(9), 15), (utc_hour(23), 16)]),
        "each line's local time minus its offset gives the UTC hour (keys: hours since 1970)"
    );
}

/// A reader that hands out at most `step` bytes per `read` call, as a pipe
/// or a socket may.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[test]
fn lines_split_across_reads_are_put_back_together() {
    let mut log = Vec::new();
    generate_log(7, 300, &mut log).unwrap();
    let expected = analyse_slow(&log[..], 10).unwrap();
    for step in [1, 7, 100, 4096] {
        let log = log.clone();
        let got = testkit::within(LIMIT, "analyse returns within 10 s", move || {
            analyse(Trickle { data: &log, step }, 10).expect("the reader does not fail")
        });
        assert_eq!(
            got, expected,
            "reading {step} bytes at a time: analyse differs from analyse_slow"
        );
    }
}

#[test]
fn an_error_from_the_reader_is_returned() {
    struct Failing;
    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("disk on fire"))
        }
    }
    let result = testkit::within(LIMIT, "analyse returns within 10 s", || analyse(Failing, 5));
    assert!(
        result.is_err(),
        "the reader's error must come back as Err, got {result:?}"
    );
}

#[test]
fn matches_the_slow_version_on_generated_logs() {
    for seed in 1..=3 {
        let mut log = Vec::new();
        generate_log(seed, 5_000, &mut log).unwrap();
        assert_same_as_slow(&log, 10, &format!("generated log, seed {seed}"));
    }
}

#[test]
fn matches_the_slow_version_for_every_top_n() {
    let mut log = Vec::new();
    generate_log(99, 5_000, &mut log).unwrap();
    for top in [0, 1, 3, 50, 10_000] {
        assert_same_as_slow(&log, top, &format!("top {top}"));
    }
}
