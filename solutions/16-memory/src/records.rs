//! Part 1, continued: a hot loop that allocates nothing once warmed up.

use std::io::{self, BufRead, Read};

/// Reads records, one per line, of comma-separated integers (`12, -3,4`),
/// reusing its buffers: once it has seen a line as long as any later one
/// and a record with as many fields, reading a record allocates nothing.
pub struct RecordReader {
    // The current line; `read_line` appends to it, so it is cleared before
    // each read, which keeps its capacity.
    line: String,
    // The current record's fields, cleared (capacity kept) for each line.
    fields: Vec<i64>,
    max_line: usize,
    line_number: u64,
}

impl RecordReader {
    /// A reader that accepts lines of at most `max_line` bytes, not counting
    /// the line's end (`\n` or `\r\n`).
    pub fn new(max_line: usize) -> Self {
        RecordReader {
            line: String::new(),
            fields: Vec::new(),
            max_line,
            line_number: 0,
        }
    }

    /// Reads the next line of `input` and returns its fields, `Ok(None)` at
    /// the end of the input. An empty line is a record with no fields;
    /// spaces around a field are ignored.
    ///
    /// Bad input is an error of kind `InvalidData`, never a panic: a field
    /// that is not an `i64` or a line longer than the maximum (the message
    /// names the line, counted from 1; a long line is detected after reading
    /// at most the maximum plus two bytes of it), or a line that is not
    /// UTF-8. I/O errors are passed on. Stop reading after an error.
    pub fn next_record<R: BufRead>(&mut self, input: &mut R) -> io::Result<Option<&[i64]>> {
        self.line.clear();
        self.fields.clear();
        // At most the longest allowed line plus `\r\n`: a line without an
        // end cannot make `read_line` grow our buffer without bound.
        let limit = self.max_line as u64 + 2;
        let n = input.by_ref().take(limit).read_line(&mut self.line)?;
        if n == 0 {
            return Ok(None);
        }
        self.line_number += 1;
        let line = self.line.strip_suffix('\n').unwrap_or(&self.line);
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.len() > self.max_line {
            return Err(invalid(format!(
                "line {}: longer than {} bytes",
                self.line_number, self.max_line
            )));
        }
        if !line.trim().is_empty() {
            for field in line.split(',') {
                // `parse` reads the borrowed `&str`: no copy, no allocation.
                match field.trim().parse::<i64>() {
                    Ok(value) => self.fields.push(value),
                    Err(e) => {
                        return Err(invalid(format!(
                            "line {}: field {:?} is not an integer: {e}",
                            self.line_number,
                            field.trim()
                        )));
                    }
                }
            }
        }
        Ok(Some(&self.fields))
    }
}

// Only the error path allocates (the message); that is fine: it is not hot.
fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}
