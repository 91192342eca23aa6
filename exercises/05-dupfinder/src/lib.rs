//! # Exercise 05: a duplicate-file finder
//!
//! Build the library behind `dupfinder`, a command-line tool that finds
//! files with identical content under one or more directories:
//!
//! 1. [`scan`] walks the directories with `walkdir` and groups the regular
//!    files by size (a file with a unique size has no duplicate);
//! 2. [`confirm`] hashes the candidates in parallel with `rayon` and `blake3`,
//!    first their first [`PREFIX_LEN`] bytes, then (for the survivors) their
//!    whole content, and keeps the groups whose hashes match;
//! 3. [`write_text`], [`write_json_lines`] and [`Report::exit_code`] give the
//!    program its output and its exit status.
//!
//! Bad input never stops the scan, never blocks it and never lands in a
//! group: an unreadable directory, a broken symbolic link or a file that
//! vanished is recorded as a [`ScanError`] and skipped.
//!
//! The program itself (`src/main.rs`: arguments, progress bar, printing) is
//! given; it only calls the functions below. Try it on a real directory once
//! the tests pass:
//!
//! ```console
//! cargo run -p exercise-05 --release -- ~/Downloads
//! ```
//!
//! Run the tests with:
//!
//! ```console
//! cargo test -p exercise-05
//! ```
//!
//! They build small trees in temporary directories (hard links, symlink
//! loops, unreadable directories, files deleted halfway) and check your
//! results exactly, through the library and through the `dupfinder` binary.
//! Stuck? `cargo course hint 05`. The reference solution is in
//! `solutions/05-dupfinder/`; compare with it once you are green.
//!
//! Unix only: a file is identified by its device and inode numbers
//! (`std::os::unix::fs::MetadataExt`).

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;

/// How many leading bytes the cheap first hashing pass reads from each file.
/// Files of at most this size are read completely by that pass.
pub const PREFIX_LEN: u64 = 4096;

/// What to scan. `Options::default()` follows no symbolic links and skips
/// empty files.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Follow symbolic links to files and directories. Symbolic links are
    /// otherwise ignored (they are not files). When following, a link loop
    /// or a broken link is reported as a [`ScanError`] (whose message says
    /// "symbolic link loop" or "broken symbolic link") and skipped.
    pub follow_links: bool,
    /// Also consider empty files; all empty files then form one group.
    pub include_empty: bool,
}

/// Files with identical content: `paths.len() >= 2`, each path a different
/// file (inode), sorted ascending (`PathBuf`'s order). When a file has several
/// names (hard links, or reached twice), only its smallest path is listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// The size in bytes of each file in the group.
    pub size: u64,
    pub paths: Vec<PathBuf>,
}

/// A path that could not be walked, examined or read, and why. The path was
/// skipped; the scan went on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanError {
    pub path: PathBuf,
    pub message: String,
}

/// The result of the first stage: files grouped by size only (`groups`, in
/// the same order as a [`Report`]'s), plus what could not be scanned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Candidates {
    pub groups: Vec<Group>,
    pub errors: Vec<ScanError>,
}

/// The result of a whole run. `groups` are sorted by size, largest first,
/// then by their first path; `errors` are sorted by path, and name each
/// failing path once, even when overlapping roots reached it twice.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub groups: Vec<Group>,
    pub errors: Vec<ScanError>,
}

/// Counters that the scan updates while it runs, from any thread, so that
/// another thread can draw a progress bar. All start at 0.
#[derive(Debug, Default)]
pub struct Progress {
    /// Regular files the walk found (every name, empty files included).
    pub files_found: AtomicU64,
    /// Paths that [`confirm`] has to settle: set when it starts.
    pub candidates: AtomicU64,
    /// Candidates settled so far: found unique, hashed in full, or failed.
    /// Equals `candidates` when [`confirm`] returns.
    pub candidates_done: AtomicU64,
    /// Bytes read from files by the hashing passes.
    pub bytes_read: AtomicU64,
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl Report {
    /// The process exit status for this report, in the style of `diff` and
    /// `cmp` (not `grep`, which exits 0 when it finds something): 2 if
    /// `errors` is not empty (the report may be incomplete), else 1 if at
    /// least one group was found, else 0.
    pub fn exit_code(&self) -> u8 {
        // TODO: return 2, 1 or 0 as described above.
        todo!("Report::exit_code")
    }
}

/// Scans `roots` and returns the groups of identical files: [`scan`], then
/// [`confirm`].
pub fn find_duplicates(roots: &[PathBuf], opts: &Options) -> Report {
    // Given: nothing to do here.
    let progress = Progress::default();
    confirm(scan(roots, opts, &progress), &progress, |_| {})
}

/// Stage 1: walks every root (recursively; a root may also be a file) and
/// groups the regular files by size.
///
/// - Symbolic links are skipped unless `opts.follow_links`; when following,
///   a link loop or a broken link becomes a [`ScanError`] for the link.
/// - Empty files are skipped unless `opts.include_empty`.
/// - Several names of one file (same device and inode: hard links, a file
///   under two roots, a followed symlink) count as ONE file, listed under
///   its smallest path.
/// - Anything that cannot be listed or examined (a missing root, a directory
///   without read permission) becomes a [`ScanError`] naming the path that
///   failed (the directory that could not be listed, not the root above
///   it), and the walk goes on.
/// - Adds 1 to `progress.files_found` for every regular-file name found,
///   before the filters above (empty files and extra names included).
///
/// Returns only the sizes shared by at least two files, as [`Group`]s sorted
/// like a [`Report`]'s, and the errors sorted like a [`Report`]'s.
pub fn scan(roots: &[PathBuf], opts: &Options, progress: &Progress) -> Candidates {
    // TODO: walk each root with walkdir, honouring opts; record errors and go on.
    // TODO: merge the names of one (device, inode); keep the smallest path.
    // TODO: group by size, keep the sizes with 2 or more files, sort.
    todo!("scan: walk the roots and group the files by size")
}

/// Stages 2 and 3: keeps, from each candidate group, the files whose content
/// is identical, using BLAKE3 hashes computed in parallel (rayon).
///
/// - First hash the first `PREFIX_LEN` bytes of every file (the whole file
///   if it is not larger) and split the groups by that hash; then hash the
///   whole content of files larger than `PREFIX_LEN` whose prefix still
///   matches another's, and split again. Files left alone are dropped.
/// - The files are hashed in parallel on the current rayon pool.
///   `on_read(path)` is called on the thread that is about to read a file,
///   each time a pass reads one (twice for a file that reaches the full
///   pass).
/// - A file that cannot be opened or read, that is no longer a regular file
///   (replaced by a named pipe, say: opening must not wait for a writer),
///   or whose size is no longer the group's `size` (it changed since the
///   scan), becomes a [`ScanError`] and is left out; the rest of its group
///   is still compared.
/// - The returned [`Report`] keeps the candidates' errors and adds its own;
///   `groups` and `errors` are sorted as documented on [`Report`].
/// - Progress: stores the number of paths in `candidates` into
///   `progress.candidates` first; adds 1 to `progress.candidates_done` as
///   soon as a file is settled (it turned out unique, was hashed in full,
///   or failed), file by file rather than a group or a pass at once, so the
///   two are equal at the end; adds every byte read to
///   `progress.bytes_read`.
pub fn confirm(
    candidates: Candidates,
    progress: &Progress,
    on_read: impl Fn(&Path) + Sync,
) -> Report {
    // TODO: hash the prefixes in parallel (on_read before each read), split by hash.
    // TODO: hash the survivors in full in parallel and split again.
    // TODO: check each file's length, record errors, update progress, sort.
    todo!("confirm: hash the candidates and keep the identical ones")
}

/// Writes the groups as `fdupes` does: one path per line, each group
/// followed by an empty line. Nothing at all when there are no groups.
/// Paths should come out as raw bytes (`std::os::unix::ffi::OsStrExt`), so
/// that a name that is not UTF-8 is printed unchanged.
pub fn write_text(groups: &[Group], out: &mut impl Write) -> io::Result<()> {
    // TODO: write each path, a newline, and an empty line after each group.
    todo!("write_text")
}

/// Writes one JSON object per group and line (JSON Lines), for example
/// `{"paths":["a/x","b/y"],"size":1234}` (the order of the keys does not
/// matter to a JSON reader). JSON strings are Unicode: replace the bytes of
/// a path that are not UTF-8 with U+FFFD (`Path::to_string_lossy`).
pub fn write_json_lines(groups: &[Group], out: &mut impl Write) -> io::Result<()> {
    // TODO: build each object (serde_json::json! helps) and write it on its own line.
    todo!("write_json_lines")
}
