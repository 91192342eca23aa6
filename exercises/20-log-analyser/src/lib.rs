//! A fast analyser of web-server access logs. The slow one is given in
//! `src/given.rs`, with the log format, the [`Report`] and a log generator:
//! your [`analyse`] must give exactly the report [`analyse_slow`] gives,
//! malformed lines included, and be several times faster.
//!
//! Measure before you change anything (the chapter's `compare.sh` and the
//! benchmark show how); the tests check only that the answer is right.

pub mod given;

pub use given::{Report, analyse_slow, days_from_civil, generate_log};

use std::io::{self, Read};

/// Reads the whole log from `reader` and returns its [`Report`], with the
/// `top` most frequent client addresses and paths. The report equals
/// `analyse_slow(reader, top)` for every input: malformed lines are counted,
/// never a panic. An error from `reader` is returned.
pub fn analyse<R: Read>(reader: R, top: usize) -> io::Result<Report> {
    // TODO: read the log in large blocks, find the lines in them (one may
    // continue in the next block), and parse each line in place, without
    // allocating for it. Then build the report from the counts. Once that is
    // right and measured: let a second thread analyse every other block, and
    // merge the two threads' counts at the end.
    todo!("analyse")
}
