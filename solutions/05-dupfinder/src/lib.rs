//! # Exercise 05: a duplicate-file finder (reference solution)
//!
//! The pipeline, cheapest filter first:
//!
//! 1. [`scan`] walks the roots (walkdir), keeps regular files, merges the
//!    names of one inode into one file, and groups files by size. A file
//!    whose size is unique cannot have a duplicate and is never opened.
//! 2. [`confirm`] hashes the first [`PREFIX_LEN`] bytes of every candidate in
//!    parallel (rayon) and splits the groups by that hash; then it hashes the
//!    survivors in full and splits again. What is left are the duplicates.
//!
//! Errors (an unreadable directory, a broken symbolic link, a file that
//! vanished, changed size or was replaced by something that is not a file
//! between the passes) are collected next to the results: one bad file
//! never aborts the scan, never lands in a group, and never blocks it.
//!
//! This crate is Unix-only: it identifies a file by its device and inode
//! numbers (`std::os::unix::fs::MetadataExt`).

use std::collections::HashMap;
use std::fmt;
use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use rayon::prelude::*;
use walkdir::WalkDir;

// ANCHOR: types
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
// ANCHOR_END: types

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

// ANCHOR: exit_code
impl Report {
    /// The process exit status for this report, in the style of `diff` and
    /// `cmp` (not `grep`, which exits 0 when it finds something): 2 if
    /// `errors` is not empty (the report may be incomplete), else 1 if at
    /// least one group was found, else 0.
    pub fn exit_code(&self) -> u8 {
        // ANCHOR_END: exit_code
        if !self.errors.is_empty() {
            2
        } else if !self.groups.is_empty() {
            1
        } else {
            0
        }
    }
}

// ANCHOR: find_duplicates
/// Scans `roots` and returns the groups of identical files: [`scan`], then
/// [`confirm`].
pub fn find_duplicates(roots: &[PathBuf], opts: &Options) -> Report {
    // Given: nothing to do here.
    let progress = Progress::default();
    confirm(scan(roots, opts, &progress), &progress, |_| {})
}
// ANCHOR_END: find_duplicates

// ANCHOR: scan
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
    // ANCHOR_END: scan
    let mut errors = Vec::new();
    // One entry per file, keyed by (device, inode): hard links, a file under
    // two roots, or a followed symlink are several names for ONE file, and a
    // file is never a duplicate of itself. We keep its smallest name.
    let mut files: HashMap<(u64, u64), (u64, PathBuf)> = HashMap::new();

    for root in roots {
        // The directory being listed at each depth: `dirs[d]` is the last
        // directory the walk yielded at depth d. When reading a directory's
        // entries fails, walkdir gives the error a depth but no path; this
        // names the directory it happened in.
        let mut dirs: Vec<PathBuf> = Vec::new();
        // The walk itself is sequential: it is mostly metadata syscalls, and
        // far cheaper than the hashing that follows.
        for entry in WalkDir::new(root).follow_links(opts.follow_links) {
            let entry = match entry {
                Ok(entry) => entry,
                // Record and keep walking: walkdir skips what it could not
                // read (a directory's contents, a loop) and goes on.
                Err(err) => {
                    errors.push(walk_error(root, &dirs, &err));
                    continue;
                }
            };
            if entry.file_type().is_dir() {
                dirs.truncate(entry.depth());
                dirs.push(entry.path().to_path_buf());
            }
            // Directories, symlinks we do not follow, sockets, FIFOs, devices.
            if !entry.file_type().is_file() {
                continue;
            }
            // With follow_links, this is the metadata of the link's target.
            let meta = match entry.metadata() {
                Ok(meta) => meta,
                Err(err) => {
                    errors.push(walk_error(root, &dirs, &err));
                    continue;
                }
            };
            progress.files_found.fetch_add(1, Relaxed);
            if meta.len() == 0 && !opts.include_empty {
                continue;
            }
            let path = entry.into_path();
            files
                .entry((meta.dev(), meta.ino()))
                .and_modify(|(_, kept)| {
                    if path < *kept {
                        *kept = path.clone();
                    }
                })
                .or_insert((meta.len(), path));
        }
    }

    let mut by_size: HashMap<u64, Vec<PathBuf>> = HashMap::new();
    for (size, path) in files.into_values() {
        by_size.entry(size).or_default().push(path);
    }
    Candidates {
        groups: into_groups(by_size.into_iter()),
        errors: sorted(errors),
    }
}

// ANCHOR: confirm
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
    // ANCHOR_END: confirm
    let Candidates { groups, mut errors } = candidates;
    let total = groups.iter().map(|g| g.paths.len() as u64).sum();
    progress.candidates.store(total, Relaxed);

    // Pass 1: the first PREFIX_LEN bytes (the whole file if it is smaller).
    let by_prefix = split_by_hash(groups, PREFIX_LEN, &mut errors, progress, &on_read);
    // Files of at most PREFIX_LEN bytes were read whole: their groups are
    // final. The larger ones only share a beginning so far.
    let (mut groups, partial): (Vec<Group>, Vec<Group>) =
        by_prefix.into_iter().partition(|g| g.size <= PREFIX_LEN);

    // Pass 2: the whole content of the files whose prefixes still match.
    groups.extend(split_by_hash(
        partial,
        u64::MAX,
        &mut errors,
        progress,
        &on_read,
    ));
    sort_groups(&mut groups);
    Report {
        groups,
        errors: sorted(errors),
    }
}

/// Hashes the first `limit` bytes of every file, in parallel, and splits
/// each group into sub-groups of equal hashes; files left alone are dropped.
/// Failures go to `errors`.
fn split_by_hash(
    groups: Vec<Group>,
    limit: u64,
    errors: &mut Vec<ScanError>,
    progress: &Progress,
    on_read: &(impl Fn(&Path) + Sync),
) -> Vec<Group> {
    // Every file is independent work, so parallelise over the files of every
    // group (the nested par_iter lets rayon balance one huge group too).
    // `collect` keeps the input order, so the result does not depend on
    // which thread finished first.
    let hashed: Vec<(u64, PathBuf, io::Result<blake3::Hash>)> = groups
        .into_par_iter()
        .flat_map(|group| {
            let size = group.size;
            group.paths.into_par_iter().map(move |path| {
                on_read(&path);
                let hash = hash_file(&path, size, limit, progress);
                // Settled now: a file that failed, or that this pass read
                // whole. Counting here, not after the pass, keeps the bar
                // moving during the long full-hash pass.
                if hash.is_err() || size <= limit {
                    progress.candidates_done.fetch_add(1, Relaxed);
                }
                (size, path, hash)
            })
        })
        .collect();

    // Regroup on one thread: cheap compared with the reading above. The key
    // includes the size, so files of different sizes never meet.
    let mut by_key: HashMap<(u64, blake3::Hash), Vec<PathBuf>> = HashMap::new();
    for (size, path, hash) in hashed {
        match hash {
            Ok(hash) => by_key.entry((size, hash)).or_default().push(path),
            Err(err) => errors.push(ScanError {
                message: err.to_string(),
                path,
            }),
        }
    }
    // A larger file whose prefix matched no other is settled too.
    let unique_prefixes = by_key
        .iter()
        .filter(|((size, _), paths)| paths.len() == 1 && *size > limit)
        .count();
    progress
        .candidates_done
        .fetch_add(unique_prefixes as u64, Relaxed);
    into_groups(by_key.into_iter().map(|((size, _), paths)| (size, paths)))
}

/// Hashes the first `min(size, limit)` bytes of the file at `path`, which
/// the walk saw with `size` bytes. Fails if the file cannot be read, or if
/// it no longer has the size the walk saw (it changed meanwhile: comparing
/// it with the others would mean nothing).
fn hash_file(path: &Path, size: u64, limit: u64, progress: &Progress) -> io::Result<blake3::Hash> {
    let want = size.min(limit);
    let whole = want == size;
    // The path may name something else by now. Opening a named pipe (FIFO)
    // for reading waits until some process opens it for writing, possibly
    // forever: O_NONBLOCK makes that open return at once. On a regular file
    // the flag changes nothing (reading a disk file never returns EAGAIN).
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    // Ask the file we opened, not the path, what it is.
    if !file.metadata()?.is_file() {
        return Err(io::Error::other(
            "no longer a regular file (replaced during the scan); not read",
        ));
    }
    // When reading the whole file, ask for one byte more than the walk saw:
    // getting it means the file grew.
    let mut reader = file.take(if whole { size + 1 } else { want });
    let mut hasher = blake3::Hasher::new();
    // 64 KiB: large enough for few syscalls and for BLAKE3's SIMD paths,
    // small enough to stay in the CPU cache.
    let mut buf = vec![0; 64 * 1024];
    let mut read = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        hasher.update(&buf[..n]);
        read += n as u64;
        progress.bytes_read.fetch_add(n as u64, Relaxed);
    }
    if read != want {
        return Err(io::Error::other(format!(
            "changed size during the scan (it had {size} bytes)"
        )));
    }
    Ok(hasher.finalize())
}

/// Turns `(size, paths)` pairs into sorted groups, dropping the single files.
fn into_groups(pairs: impl Iterator<Item = (u64, Vec<PathBuf>)>) -> Vec<Group> {
    let mut groups: Vec<Group> = pairs
        .filter(|(_, paths)| paths.len() > 1)
        .map(|(size, paths)| Group { size, paths })
        .collect();
    sort_groups(&mut groups);
    groups
}

/// The order promised by [`Report`]: paths ascending inside a group; groups
/// by size, largest first, then by first path. HashMaps iterate in a random
/// order, so without this the output would change from run to run.
fn sort_groups(groups: &mut [Group]) {
    for group in groups.iter_mut() {
        group.paths.sort();
    }
    groups.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.paths.cmp(&b.paths)));
}

/// Errors sorted by path, then message, each path once: overlapping roots
/// (`dupfinder d d`) meet the same unreadable directory twice, and the user
/// needs to hear about it once.
fn sorted(mut errors: Vec<ScanError>) -> Vec<ScanError> {
    errors.sort_by(|a, b| a.path.cmp(&b.path).then_with(|| a.message.cmp(&b.message)));
    errors.dedup_by(|later, kept| later.path == kept.path);
    errors
}

/// A walkdir error as a [`ScanError`], with a message a user understands.
/// `dirs` are the directories being listed (see [`scan`]).
fn walk_error(root: &Path, dirs: &[PathBuf], err: &walkdir::Error) -> ScanError {
    // walkdir names the entry that failed, except when reading a
    // directory's entries fails (`/proc/1/map_files` may be opened but not
    // listed): that error has only a depth, one below the directory's.
    let path = match err.path() {
        Some(path) => path.to_path_buf(),
        None => err
            .depth()
            .checked_sub(1)
            .and_then(|depth| dirs.get(depth))
            .map_or_else(|| root.to_path_buf(), PathBuf::clone),
    };
    let message = if let Some(ancestor) = err.loop_ancestor() {
        format!(
            "symbolic link loop (it leads back to {}); not followed",
            ancestor.display()
        )
    } else if let Some(io) = err.io_error() {
        // Following a link whose target is missing fails with NotFound on
        // the link itself: say so, "No such file" alone is puzzling.
        let dangling = io.kind() == io::ErrorKind::NotFound
            && path.symlink_metadata().is_ok_and(|m| m.is_symlink());
        if dangling {
            "broken symbolic link (its target does not exist)".to_string()
        } else if io.raw_os_error() == Some(libc::ELOOP) {
            // A link to itself, or links that lead to each other: the
            // kernel gives up resolving them ("Too many levels of symbolic
            // links"). walkdir's own check sees only loops through
            // directories it has entered.
            "symbolic link loop (it never leads to a file or directory); not followed".to_string()
        } else {
            io.to_string()
        }
    } else {
        err.to_string()
    };
    ScanError { path, message }
}

// ANCHOR: write_text
/// Writes the groups as `fdupes` does: one path per line, each group
/// followed by an empty line. Nothing at all when there are no groups.
/// Paths should come out as raw bytes (`std::os::unix::ffi::OsStrExt`), so
/// that a name that is not UTF-8 is printed unchanged.
pub fn write_text(groups: &[Group], out: &mut impl Write) -> io::Result<()> {
    // ANCHOR_END: write_text
    for group in groups {
        for path in &group.paths {
            out.write_all(path.as_os_str().as_bytes())?;
            out.write_all(b"\n")?;
        }
        out.write_all(b"\n")?;
    }
    Ok(())
}

// ANCHOR: write_json_lines
/// Writes one JSON object per group and line (JSON Lines), for example
/// `{"paths":["a/x","b/y"],"size":1234}` (the order of the keys does not
/// matter to a JSON reader). JSON strings are Unicode: replace the bytes of
/// a path that are not UTF-8 with U+FFFD (`Path::to_string_lossy`).
pub fn write_json_lines(groups: &[Group], out: &mut impl Write) -> io::Result<()> {
    // ANCHOR_END: write_json_lines
    for group in groups {
        let paths: Vec<_> = group.paths.iter().map(|p| p.to_string_lossy()).collect();
        let line = serde_json::json!({ "size": group.size, "paths": paths });
        writeln!(out, "{line}")?;
    }
    Ok(())
}
