//! A capped line reader that a `select!` may cancel: given code, you do not
//! need to change it.
//!
//! It is chapter 3's `read_line_capped` and `skip_line` in one type, with two
//! differences. The bytes of an unfinished line live in the reader, not in a
//! local variable, so dropping a [`LineReader::next_line`] future (the branch
//! of a `select!` that lost) loses nothing: the next call carries on with the
//! same line. And the limit is passed to each call, so it may change between
//! lines (a live setting).

use std::io;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// What [`LineReader::next_line`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A whole line, without its `\n` or `\r\n`.
    Text(Vec<u8>),
    /// A line longer than the limit. Reported once, as soon as it is known:
    /// when `max + 2` bytes of it have arrived without a `\n`, or when its
    /// `\n` arrives. The rest of the line, up to and including its `\n`, is
    /// then skipped by the following calls without being stored.
    TooLong,
}

/// Reads lines of at most `max` bytes from a socket (or any reader).
#[derive(Debug)]
pub struct LineReader<R> {
    reader: BufReader<R>,
    /// The beginning of the current line, never more than `max + 2` bytes.
    line: Vec<u8>,
    /// The current line was reported as too long: drop bytes up to its `\n`.
    skipping: bool,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    /// Wraps `reader` in a buffer of tokio's default size (8 KiB).
    pub fn new(reader: R) -> Self {
        LineReader {
            reader: BufReader::new(reader),
            line: Vec::new(),
            skipping: false,
        }
    }

    /// Reads the next line of at most `max` bytes, not counting its `\n` or
    /// `\r\n`. Returns `Ok(None)` at the end of the stream; an unfinished
    /// last line (no `\n`) is then dropped.
    ///
    /// Cancel safe: the only `.await` inside is `fill_buf`, which is cancel
    /// safe, and everything read so far is kept in `self`.
    pub async fn next_line(&mut self, max: usize) -> io::Result<Option<Line>> {
        // Room for the text and a `\r\n`; saturating, so that a huge `max`
        // means "no limit" instead of an overflow.
        let limit = max.saturating_add(2);
        loop {
            let available = self.reader.fill_buf().await?;
            if available.is_empty() {
                self.line.clear();
                self.skipping = false;
                return Ok(None);
            }
            let newline = available.iter().position(|&b| b == b'\n');
            // Up to and including the `\n`, or everything if there is none.
            let used = newline.map_or(available.len(), |i| i + 1);

            if self.skipping {
                self.reader.consume(used);
                if newline.is_some() {
                    self.skipping = false;
                }
                continue;
            }

            match newline {
                Some(i) if self.line.len() + i > limit => {
                    // The line ends here, but it is far too long: do not
                    // store its end, just report it.
                    self.reader.consume(used);
                    self.line.clear();
                    return Ok(Some(Line::TooLong));
                }
                Some(i) => {
                    self.line.extend_from_slice(&available[..i]);
                    self.reader.consume(used);
                    if self.line.last() == Some(&b'\r') {
                        self.line.pop();
                    }
                    if self.line.len() > max {
                        self.line.clear();
                        return Ok(Some(Line::TooLong));
                    }
                    return Ok(Some(Line::Text(std::mem::take(&mut self.line))));
                }
                None if self.line.len() + used >= limit => {
                    // `limit` bytes and still no `\n`: too long, whatever
                    // comes next. Skip the rest of it from now on.
                    self.reader.consume(used);
                    self.line.clear();
                    self.skipping = true;
                    return Ok(Some(Line::TooLong));
                }
                None => {
                    self.line.extend_from_slice(available);
                    self.reader.consume(used);
                }
            }
        }
    }
}
