//! The specification of exercise 10. Each codec is driven the way `Framed`
//! drives it: bytes are appended to a `BytesMut`, then `decode` is called
//! until it returns `Ok(None)`; at the end of the stream, `decode_eof`.

use bytes::{BufMut, Bytes, BytesMut};
use exercise_10::{CodecError, LengthCodec, LineCodec};
use futures_util::{SinkExt, StreamExt};
use testkit::{LIMIT, block_on, within};
use tokio_util::codec::{Decoder, Encoder, Framed};

/// The wire form of `frames` under the length codec.
fn length_wire(frames: &[&[u8]]) -> Vec<u8> {
    let mut wire = Vec::new();
    for f in frames {
        wire.extend_from_slice(&(f.len() as u32).to_be_bytes());
        wire.extend_from_slice(f);
    }
    wire
}

/// Feeds `wire` in the chunks given by `cuts` (ascending offsets) and
/// collects every frame decoded, then calls `decode_eof`.
#[track_caller]
fn decode_in_chunks<D>(codec: &mut D, wire: &[u8], cuts: &[usize]) -> Vec<Bytes>
where
    D: Decoder<Item = Bytes, Error = CodecError>,
{
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let mut from = 0;
    for &to in cuts.iter().chain(std::iter::once(&wire.len())) {
        buf.extend_from_slice(&wire[from..to]);
        from = to;
        while let Some(frame) = codec
            .decode(&mut buf)
            .expect("decode failed on valid input")
        {
            frames.push(frame);
        }
    }
    while let Some(frame) = codec
        .decode_eof(&mut buf)
        .expect("decode_eof failed on valid input")
    {
        frames.push(frame);
    }
    frames
}

#[track_caller]
fn assert_frames(got: &[Bytes], want: &[&[u8]], context: &str) {
    let got: Vec<&[u8]> = got.iter().map(|b| &b[..]).collect();
    assert_eq!(got, want, "{context}");
}

/// Asserts that every frame points into the memory `buf` owned before decoding.
#[track_caller]
fn assert_shares(frames: &[Bytes], region: std::ops::Range<usize>) {
    assert!(!frames.is_empty(), "expected frames to check");
    for f in frames {
        let p = f.as_ptr() as usize;
        assert!(
            region.contains(&p) && p + f.len() <= region.end,
            "frame {f:?} lives at {p:#x}, outside the input buffer {region:x?}: \
             it was copied. Hand out part of the buffer (split_to + freeze) instead"
        );
    }
}

// --- length codec ----------------------------------------------------------

#[test]
fn length_decodes_many_frames_from_one_buffer() {
    within(LIMIT, "decoding frames from one buffer", || {
        let want: Vec<&[u8]> = vec![b"hello", b"", b"world", &[0u8; 300]];
        let got = decode_in_chunks(&mut LengthCodec::new(1024), &length_wire(&want), &[]);
        assert_frames(
            &got,
            &want,
            "every frame of one buffer, in order, empty frames too",
        );
    });
}

#[test]
fn length_decodes_input_split_at_every_byte_boundary() {
    within(LIMIT, "decoding split input", || {
        let want: Vec<&[u8]> = vec![b"ab", b"", b"cdefg"];
        let wire = length_wire(&want);
        for cut in 0..=wire.len() {
            let got = decode_in_chunks(&mut LengthCodec::new(64), &wire, &[cut]);
            assert_frames(&got, &want, &format!("input split in two at byte {cut}"));
        }
        let every: Vec<usize> = (1..wire.len()).collect();
        let got = decode_in_chunks(&mut LengthCodec::new(64), &wire, &every);
        assert_frames(&got, &want, "input arriving one byte at a time");
    });
}

#[test]
fn length_rejects_an_oversized_prefix_before_reading_the_body() {
    within(LIMIT, "rejecting a huge length prefix", || {
        let mut codec = LengthCodec::new(1024);
        let mut buf = BytesMut::new();
        buf.put_u32(64 << 20); // announces 64 MiB, sends none of it
        match codec.decode(&mut buf) {
            Err(CodecError::FrameTooLong { len, max }) => {
                assert_eq!(
                    (len, max),
                    (64 << 20, 1024),
                    "FrameTooLong should carry the announced length and the max"
                );
            }
            other => panic!(
                "a prefix announcing 64 MiB with max 1024 must be FrameTooLong at once, got {other:?}"
            ),
        }
        assert!(
            buf.capacity() < 1 << 20,
            "the buffer grew to {} bytes: room was reserved for the announced length before it was checked",
            buf.capacity()
        );
    });
}

#[test]
fn length_accepts_a_frame_of_exactly_the_maximum() {
    within(LIMIT, "decoding a frame of max size", || {
        let body = [7u8; 100];
        let got = decode_in_chunks(&mut LengthCodec::new(100), &length_wire(&[&body]), &[]);
        assert_frames(
            &got,
            &[&body],
            "a frame of exactly max_frame bytes is allowed",
        );
    });
}

#[test]
fn length_eof_in_the_middle_of_a_frame_is_an_error() {
    within(LIMIT, "decode_eof on a partial frame", || {
        let mut codec = LengthCodec::new(64);
        let wire = length_wire(&[b"complete", b"cut short"]);
        let mut buf = BytesMut::from(&wire[..wire.len() - 3]);
        let first = codec
            .decode_eof(&mut buf)
            .expect("the first frame is whole");
        assert_eq!(first.as_deref(), Some(&b"complete"[..]));
        match codec.decode_eof(&mut buf) {
            Err(CodecError::Truncated { .. }) => {}
            other => panic!(
                "the stream ended inside a frame: expected Truncated, got {other:?} (data lost silently?)"
            ),
        }
        let mut empty = BytesMut::new();
        assert!(
            matches!(codec.decode_eof(&mut empty), Ok(None)),
            "an end of stream between frames is a clean end: Ok(None)"
        );
    });
}

#[test]
fn length_decoded_frames_share_the_input_buffer() {
    within(LIMIT, "decoding without copying", || {
        let wire = length_wire(&[b"zero", b"copy", b"frames"]);
        let mut buf = BytesMut::with_capacity(wire.len());
        buf.extend_from_slice(&wire);
        let start = buf.as_ptr() as usize;
        let region = start..start + buf.capacity();
        let mut codec = LengthCodec::new(64);
        let mut frames = Vec::new();
        while let Some(f) = codec.decode(&mut buf).expect("valid input") {
            frames.push(f);
        }
        assert_eq!(frames.len(), 3, "three frames in the buffer");
        assert_shares(&frames, region);
    });
}

#[test]
fn length_encoder_writes_a_big_endian_prefix_and_refuses_long_frames() {
    within(LIMIT, "encoding length frames", || {
        let mut codec = LengthCodec::new(4);
        let mut dst = BytesMut::new();
        codec
            .encode(Bytes::from_static(b"abc"), &mut dst)
            .expect("3 bytes fit in max 4");
        assert_eq!(&dst[..], b"\0\0\0\x03abc", "prefix is u32 big-endian");
        let err = codec.encode(Bytes::from_static(b"abcde"), &mut dst);
        assert!(
            matches!(err, Err(CodecError::FrameTooLong { len: 5, max: 4 })),
            "got {err:?}"
        );
        assert_eq!(dst.len(), 7, "a refused frame must write nothing");
    });
}

// --- line codec ------------------------------------------------------------

#[test]
fn line_decodes_lines_and_strips_crlf() {
    within(LIMIT, "decoding lines", || {
        let got = decode_in_chunks(&mut LineCodec::new(16), b"one\r\ntwo\n\nthree\r\n", &[]);
        assert_frames(
            &got,
            &[b"one", b"two", b"", b"three"],
            "lines without their \\n or \\r\\n",
        );
    });
}

#[test]
fn line_decodes_input_split_at_every_byte_boundary() {
    within(LIMIT, "decoding split lines", || {
        let wire = b"ab\r\ncd\nef\r\n";
        let want: [&[u8]; 3] = [b"ab", b"cd", b"ef"];
        for cut in 0..=wire.len() {
            let got = decode_in_chunks(&mut LineCodec::new(8), wire, &[cut]);
            assert_frames(&got, &want, &format!("input split in two at byte {cut}"));
        }
        let every: Vec<usize> = (1..wire.len()).collect();
        let got = decode_in_chunks(&mut LineCodec::new(8), wire, &every);
        assert_frames(&got, &want, "input arriving one byte at a time");
    });
}

#[test]
fn line_rejects_a_long_line_before_its_newline_arrives() {
    within(LIMIT, "rejecting a long line", || {
        let mut codec = LineCodec::new(8);
        let mut ok = BytesMut::from(&b"12345678\r"[..]);
        assert!(
            matches!(codec.decode(&mut ok), Ok(None)),
            "8 bytes and a \\r may still end in \\n: wait"
        );
        let mut buf = BytesMut::from(&[b'x'; 100][..]);
        match codec.decode(&mut buf) {
            Err(CodecError::FrameTooLong { max: 8, .. }) => {}
            other => {
                panic!("100 bytes without \\n and max 8: expected FrameTooLong, got {other:?}")
            }
        }
        let mut codec = LineCodec::new(8);
        let mut buf = BytesMut::from(&b"123456789\n"[..]);
        assert!(
            matches!(
                codec.decode(&mut buf),
                Err(CodecError::FrameTooLong { len: 9, max: 8 })
            ),
            "a whole 9-byte line with max 8 is too long"
        );
    });
}

#[test]
fn line_eof_in_the_middle_of_a_line_is_an_error() {
    within(LIMIT, "decode_eof on a partial line", || {
        let mut codec = LineCodec::new(16);
        let mut buf = BytesMut::from(&b"whole\nhalf"[..]);
        assert_eq!(
            codec.decode_eof(&mut buf).expect("a whole line").as_deref(),
            Some(&b"whole"[..])
        );
        match codec.decode_eof(&mut buf) {
            Err(CodecError::Truncated { buffered: 4 }) => {}
            other => panic!(
                "\"half\" has no \\n at the end of the stream: expected Truncated {{ buffered: 4 }}, got {other:?}"
            ),
        }
    });
}

#[test]
fn line_decoded_frames_share_the_input_buffer() {
    within(LIMIT, "decoding lines without copying", || {
        let wire = b"zero\r\ncopy\nlines\n";
        let mut buf = BytesMut::with_capacity(wire.len());
        buf.extend_from_slice(wire);
        let start = buf.as_ptr() as usize;
        let region = start..start + buf.capacity();
        let mut codec = LineCodec::new(16);
        let mut frames = Vec::new();
        while let Some(f) = codec.decode(&mut buf).expect("valid input") {
            frames.push(f);
        }
        assert_eq!(frames.len(), 3, "three lines in the buffer");
        assert_shares(&frames, region);
    });
}

#[test]
fn line_encoder_appends_a_newline_and_refuses_long_lines() {
    within(LIMIT, "encoding lines", || {
        let mut codec = LineCodec::new(3);
        let mut dst = BytesMut::new();
        codec
            .encode(Bytes::from_static(b"abc"), &mut dst)
            .expect("3 bytes fit in max 3");
        assert_eq!(&dst[..], b"abc\n");
        let err = codec.encode(Bytes::from_static(b"abcd"), &mut dst);
        assert!(
            matches!(err, Err(CodecError::FrameTooLong { len: 4, max: 3 })),
            "got {err:?}"
        );
        assert_eq!(dst.len(), 4, "a refused line must write nothing");
    });
}

// --- over a real socket ----------------------------------------------------

#[test]
fn framed_round_trip_over_a_tcp_socket() {
    block_on(LIMIT, "a Framed echo over TCP on 127.0.0.1", || async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.expect("accept");
            let mut framed = Framed::new(socket, LengthCodec::new(1 << 16));
            while let Some(frame) = framed.next().await {
                framed
                    .send(frame.expect("server decode"))
                    .await
                    .expect("server send");
            }
        });
        let socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let mut client = Framed::new(socket, LengthCodec::new(1 << 16));
        let frames: Vec<Bytes> = (0..50u32)
            .map(|i| Bytes::from(vec![i as u8; (i as usize * 997) % 5000]))
            .collect();
        for f in &frames {
            client.feed(f.clone()).await.expect("client feed");
        }
        client.flush().await.expect("client flush");
        for (i, want) in frames.iter().enumerate() {
            let got = client
                .next()
                .await
                .expect("server closed early")
                .expect("client decode");
            assert_eq!(got, *want, "frame {i} came back different");
        }
        drop(client);
        server.await.expect("server task");
    });
}
