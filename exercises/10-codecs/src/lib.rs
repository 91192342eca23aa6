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
    // TODO: the fields you need (the maximum, at least).
}

impl LengthCodec {
    /// A codec that accepts frames of at most `max_frame` bytes (the body,
    /// without the 4-byte prefix).
    pub fn new(max_frame: usize) -> Self {
        todo!("keep the maximum")
    }
}
impl Decoder for LengthCodec {
    type Item = Bytes;
    type Error = CodecError;

    /// Returns the next frame's body, `Ok(None)` if the buffer does not yet
    /// hold a whole frame (nothing is consumed then), or
    /// [`CodecError::FrameTooLong`] as soon as a prefix announces more than
    /// the maximum, before any of the body is read or room is made for it.
    /// The returned `Bytes` shares `src`'s memory: no copy.
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, CodecError> {
        // TODO: wait for the 4-byte prefix, check the announced length against
        // the maximum first, wait for the whole frame without consuming anything,
        // then hand out the body as part of `src` (no copy).
        todo!()
    }

    /// Like `decode`, then: bytes left over at the end of the stream are an
    /// unfinished frame, reported as [`CodecError::Truncated`].
    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, CodecError> {
        // TODO: decode what is there; leftover bytes are an unfinished frame.
        todo!()
    }
}

impl Encoder<Bytes> for LengthCodec {
    type Error = CodecError;

    /// Writes the 4-byte big-endian length, then the body. A body longer than
    /// the maximum is refused with [`CodecError::FrameTooLong`] and nothing
    /// is written.
    fn encode(&mut self, item: Bytes, dst: &mut BytesMut) -> Result<(), CodecError> {
        // TODO: refuse a body over the maximum, then write prefix and body.
        todo!()
    }
}

/// Frames that end with `\n`; a `\r` just before the `\n` is dropped too.
#[derive(Clone, Debug)]
pub struct LineCodec {
    // TODO: the fields you need (the maximum, at least).
}

impl LineCodec {
    /// A codec that accepts lines of at most `max_line` bytes, not counting
    /// the `\n` or `\r\n` that ends them.
    pub fn new(max_line: usize) -> Self {
        todo!("keep the maximum")
    }
}
impl Decoder for LineCodec {
    type Item = Bytes;
    type Error = CodecError;

    /// Returns the next line without its `\n` or `\r\n`, `Ok(None)` if no
    /// whole line is buffered yet, or [`CodecError::FrameTooLong`] as soon
    /// as a line is known to be longer than the maximum (even before its
    /// `\n` arrives). The returned `Bytes` shares `src`'s memory: no copy.
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, CodecError> {
        // TODO: find the `\n`, drop it (and a `\r` before it), enforce the
        // maximum even while the `\n` has not arrived, hand out part of `src`.
        todo!()
    }

    /// Like `decode`, then: bytes left at the end of the stream are a line
    /// without its `\n`, reported as [`CodecError::Truncated`].
    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, CodecError> {
        // TODO: decode what is there; leftover bytes are a line without `\n`.
        todo!()
    }
}

impl Encoder<Bytes> for LineCodec {
    type Error = CodecError;

    /// Writes the line and a `\n`. A line longer than the maximum is refused
    /// with [`CodecError::FrameTooLong`] and nothing is written.
    fn encode(&mut self, item: Bytes, dst: &mut BytesMut) -> Result<(), CodecError> {
        // TODO: refuse a line over the maximum, then write it and a `\n`.
        todo!()
    }
}
