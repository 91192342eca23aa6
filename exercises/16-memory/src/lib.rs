//! # Exercise 16: counting allocations, a generational slab, an arena
//!
//! Three parts, one module each:
//!
//! 1. [`counting`]: [`CountingAlloc`](counting::CountingAlloc), a global
//!    allocator that forwards to the system's and counts, per thread, what
//!    it is asked for. The tests install it as the global allocator of
//!    their binary and use it to check that [`records`]' reader, a hot loop
//!    over reused buffers, allocates nothing once warmed up.
//! 2. [`genslab`]: [`GenSlab`](genslab::GenSlab), a slab whose keys carry a
//!    generation, so that a key of a removed value returns `None` instead of
//!    whichever value reuses its slot.
//! 3. [`expr`]: an arithmetic expression tree built twice, once with one
//!    `Box` per node and once in a `bumpalo` arena, from the same parser
//!    (given in `src/parse.rs`: read it, do not change it).
//!
//! Run the tests with
//!
//! ```text
//! cargo test -p exercise-16
//! ```
//!
//! and make every test pass. Stuck? `cargo course hint 16`, or read
//! `exercises/16-memory/hints.md`.

pub mod counting;
pub mod expr;
pub mod genslab;
pub mod parse;
pub mod records;
