//! Decoding 10,000 frames of 32 bytes from one buffer: the zero-copy
//! `LengthCodec` (each frame a `Bytes` over the buffer) versus a codec that
//! copies each frame into its own `Vec<u8>`.

use std::hint::black_box;

use bytes::{BufMut, BytesMut};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use exercise_10::{CopyingLengthCodec, LengthCodec};
use tokio_util::codec::Decoder;

const FRAMES: usize = 10_000;
const SIZE: usize = 32;

fn wire() -> BytesMut {
    let mut wire = BytesMut::with_capacity(FRAMES * (4 + SIZE));
    for i in 0..FRAMES {
        wire.put_u32(SIZE as u32);
        wire.put_bytes(i as u8, SIZE);
    }
    wire
}

fn decode(c: &mut Criterion) {
    let wire = wire();
    let mut group = c.benchmark_group("decode 10k frames of 32 B");
    group.throughput(Throughput::Elements(FRAMES as u64));
    group.bench_function("zero-copy Bytes", |b| {
        b.iter_batched_ref(
            || wire.clone(),
            |buf| {
                let mut codec = LengthCodec::new(1024);
                while let Some(frame) = codec.decode(buf).unwrap() {
                    black_box(frame);
                }
            },
            criterion::BatchSize::LargeInput,
        )
    });
    group.bench_function("copy to Vec<u8>", |b| {
        b.iter_batched_ref(
            || wire.clone(),
            |buf| {
                let mut codec = CopyingLengthCodec(LengthCodec::new(1024));
                while let Some(frame) = codec.decode(buf).unwrap() {
                    black_box(frame);
                }
            },
            criterion::BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
