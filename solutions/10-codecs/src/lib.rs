//! Exercise 10: two codecs for tokio-util's `Framed`.
//!
//! [`LengthCodec`] frames each message with a 4-byte big-endian length;
//! [`LineCodec`] ends each message with `\n` (a `\r` before it is dropped).
//! Both enforce a maximum frame size, and both hand out frames that share
//! the read buffer instead of copying it.

use std::fmt;
use std::io;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

/// What can go wrong while framing.
#[derive(Debug)]
pub enum CodecError {
    /// A frame (announced or buffered) is longer than the codec's maximum.
    FrameTooLong {
        /// The frame's length in bytes (as far as it is known).
        len: usize,
        /// The codec's maximum.
        max: usize,
    },
    /// The stream ended in the middle of a frame; `buffered` bytes were left.
    Truncated {
        /// Bytes received for the unfinished frame.
        buffered: usize,
    },
    /// The underlying I/O failed.
    Io(io::Error),
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodecError::FrameTooLong { len, max } => {
                write!(f, "frame of {len} bytes exceeds the maximum of {max}")
            }
            CodecError::Truncated { buffered } => {
                write!(f, "stream ended inside a frame ({buffered} bytes buffered)")
            }
            CodecError::Io(e) => write!(f, "i/o error: {e}"),
        }
    }
}

impl std::error::Error for CodecError {}

impl From<io::Error> for CodecError {
    fn from(e: io::Error) -> Self {
        CodecError::Io(e)
    }
}

/// Frames of a 4-byte big-endian length followed by that many bytes.
#[derive(Clone, Debug)]
pub struct LengthCodec {
    max_frame: usize,
}

impl LengthCodec {
    /// A codec that accepts frames of at most `max_frame` bytes (the body,
    /// without the 4-byte prefix).
    pub fn new(max_frame: usize) -> Self {
        LengthCodec { max_frame }
    }
}

// ANCHOR: length_decode
/// The size of the length prefix.
const PREFIX: usize = 4;

impl Decoder for LengthCodec {
    type Item = Bytes;
    type Error = CodecError;

    /// Returns the next frame's body, `Ok(None)` if the buffer does not yet
    /// hold a whole frame (nothing is consumed then), or
    /// [`CodecError::FrameTooLong`] as soon as a prefix announces more than
    /// the maximum, before any of the body is read or room is made for it.
    /// The returned `Bytes` shares `src`'s memory: no copy.
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, CodecError> {
        if src.len() < PREFIX {
            return Ok(None);
        }
        // Peek at the prefix; consume nothing until the whole frame is here.
        let len = u32::from_be_bytes([src[0], src[1], src[2], src[3]]) as usize;
        if len > self.max_frame {
            // Checked before `reserve`: a hostile prefix costs us nothing.
            return Err(CodecError::FrameTooLong {
                len,
                max: self.max_frame,
            });
        }
        if src.len() < PREFIX + len {
            // Make room for the rest once, now that we know it is allowed.
            src.reserve(PREFIX + len - src.len());
            return Ok(None);
        }
        src.advance(PREFIX);
        // split_to hands out the first `len` bytes as their own BytesMut
        // over the same allocation; freeze makes it an immutable Bytes.
        Ok(Some(src.split_to(len).freeze()))
    }

    /// Like `decode`, then: bytes left over at the end of the stream are an
    /// unfinished frame, reported as [`CodecError::Truncated`].
    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, CodecError> {
        match self.decode(src)? {
            Some(frame) => Ok(Some(frame)),
            None if src.is_empty() => Ok(None),
            None => Err(CodecError::Truncated {
                buffered: src.len(),
            }),
        }
    }
}
// ANCHOR_END: length_decode

impl Encoder<Bytes> for LengthCodec {
    type Error = CodecError;

    /// Writes the 4-byte big-endian length, then the body. A body longer than
    /// the maximum is refused with [`CodecError::FrameTooLong`] and nothing
    /// is written.
    fn encode(&mut self, item: Bytes, dst: &mut BytesMut) -> Result<(), CodecError> {
        if item.len() > self.max_frame {
            return Err(CodecError::FrameTooLong {
                len: item.len(),
                max: self.max_frame,
            });
        }
        dst.reserve(PREFIX + item.len());
        // max_frame may exceed u32::MAX on 64-bit targets; the check above
        // does not cover that, this conversion does.
        let len = u32::try_from(item.len()).map_err(|_| CodecError::FrameTooLong {
            len: item.len(),
            max: u32::MAX as usize,
        })?;
        dst.put_u32(len);
        dst.put_slice(&item);
        Ok(())
    }
}

/// Frames that end with `\n`; a `\r` just before the `\n` is dropped too.
#[derive(Clone, Debug)]
pub struct LineCodec {
    max_line: usize,
    // How far `src` has been searched for `\n` already, so that a line that
    // arrives a byte at a time is not scanned again from its start each time.
    searched: usize,
}

impl LineCodec {
    /// A codec that accepts lines of at most `max_line` bytes, not counting
    /// the `\n` or `\r\n` that ends them.
    pub fn new(max_line: usize) -> Self {
        LineCodec {
            max_line,
            searched: 0,
        }
    }
}

// ANCHOR: line_decode
impl Decoder for LineCodec {
    type Item = Bytes;
    type Error = CodecError;

    /// Returns the next line without its `\n` or `\r\n`, `Ok(None)` if no
    /// whole line is buffered yet, or [`CodecError::FrameTooLong`] as soon
    /// as a line is known to be longer than the maximum (even before its
    /// `\n` arrives). The returned `Bytes` shares `src`'s memory: no copy.
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, CodecError> {
        let start = self.searched.min(src.len());
        match src[start..].iter().position(|&b| b == b'\n') {
            Some(offset) => {
                let newline = start + offset;
                self.searched = 0;
                let mut line = src.split_to(newline + 1);
                line.truncate(newline); // drop '\n'
                if line.last() == Some(&b'\r') {
                    line.truncate(newline - 1);
                }
                if line.len() > self.max_line {
                    return Err(CodecError::FrameTooLong {
                        len: line.len(),
                        max: self.max_line,
                    });
                }
                Ok(Some(line.freeze()))
            }
            // max_line bytes and a '\r' may still be followed by '\n'.
            None if src.len() > self.max_line + 1 => Err(CodecError::FrameTooLong {
                len: src.len(),
                max: self.max_line,
            }),
            None => {
                self.searched = src.len();
                Ok(None)
            }
        }
    }

    /// Like `decode`, then: bytes left at the end of the stream are a line
    /// without its `\n`, reported as [`CodecError::Truncated`].
    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, CodecError> {
        match self.decode(src)? {
            Some(line) => Ok(Some(line)),
            None if src.is_empty() => Ok(None),
            None => Err(CodecError::Truncated {
                buffered: src.len(),
            }),
        }
    }
}
// ANCHOR_END: line_decode

impl Encoder<Bytes> for LineCodec {
    type Error = CodecError;

    /// Writes the line and a `\n`. A line longer than the maximum is refused
    /// with [`CodecError::FrameTooLong`] and nothing is written.
    fn encode(&mut self, item: Bytes, dst: &mut BytesMut) -> Result<(), CodecError> {
        if item.len() > self.max_line {
            return Err(CodecError::FrameTooLong {
                len: item.len(),
                max: self.max_line,
            });
        }
        dst.reserve(item.len() + 1);
        dst.put_slice(&item);
        dst.put_u8(b'\n');
        Ok(())
    }
}

// ANCHOR: copying
/// The benchmark's baseline: the same length framing, but every frame is
/// copied into a fresh `Vec<u8>`.
#[doc(hidden)]
#[derive(Clone, Debug)]
pub struct CopyingLengthCodec(pub LengthCodec);

impl Decoder for CopyingLengthCodec {
    type Item = Vec<u8>;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Vec<u8>>, CodecError> {
        // One allocation and one memcpy per frame.
        Ok(self.0.decode(src)?.map(|frame| frame.to_vec()))
    }
}
// ANCHOR_END: copying
