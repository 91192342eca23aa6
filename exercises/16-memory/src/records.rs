//! Part 1, continued: a hot loop that allocates nothing once warmed up.

use std::io::{self, BufRead, Read};

/// Reads records, one per line, of comma-separated integers (`12, -3,4`),
/// reusing its buffers: once it has seen a line as long as any later one
/// and a record with as many fields, reading a record allocates nothing.
pub struct RecordReader {
    // TODO: the buffers to reuse from one record to the next, the maximum,
    // and the line number for error messages.
}

impl RecordReader {
    /// A reader that accepts lines of at most `max_line` bytes, not counting
    /// the line's end (`\n` or `\r\n`).
    pub fn new(max_line: usize) -> Self {
        todo!()
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
        // TODO: read one line into a buffer you keep, without letting an
        // endless line grow it; split, parse, and return the fields from a
        // Vec you keep too. Nothing on the path of a valid line may allocate
        // once the buffers are big enough.
        todo!()
    }
}
