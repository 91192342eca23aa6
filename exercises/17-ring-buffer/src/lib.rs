//! Exercise 17: a fixed-capacity ring buffer over uninitialised memory
//! (`RingBuffer`), and a single-producer single-consumer version whose two
//! halves live on two threads (`spsc`, `Producer`, `Consumer`).
//!
//! Every `unsafe` block says, in a `// SAFETY:` comment, which invariant makes
//! it sound; clippy's `undocumented_unsafe_blocks` lint (see Cargo.toml)
//! rejects a block without one.

use std::cell::UnsafeCell;
use std::iter::FusedIterator;
use std::mem::MaybeUninit;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A first-in first-out queue of at most `capacity` values, stored in one
/// allocation made by [`RingBuffer::with_capacity`] and never grown.
///
/// Dropping the buffer drops the values still in it, oldest first. If one of
/// those drops panics, the others are still dropped (none twice), and then
/// the panic goes on.
pub struct RingBuffer<T> {
    // The invariant every `unsafe` block relies on: exactly the `len` slots
    // at `head, head + 1, ...` (counted modulo the capacity) hold
    // initialised values; all other slots are uninitialised.
    slots: Box<[MaybeUninit<T>]>,
    head: usize,
    len: usize,
}

impl<T> RingBuffer<T> {
    /// Creates an empty buffer for up to `capacity` values. The slots are
    /// allocated here, uninitialised; a capacity of 0 or a zero-sized `T`
    /// allocates nothing. A zero-sized `T` still counts: the buffer holds at
    /// most `capacity` of them.
    pub fn with_capacity(capacity: usize) -> Self {
        // TODO: allocate `capacity` uninitialised slots, start empty.
        todo!()
    }

    /// How many values the buffer can hold.
    pub fn capacity(&self) -> usize {
        todo!()
    }

    /// How many values the buffer holds now.
    pub fn len(&self) -> usize {
        todo!()
    }

    /// Whether the buffer holds no value.
    pub fn is_empty(&self) -> bool {
        todo!()
    }

    /// Whether the buffer holds `capacity` values (always true for a
    /// capacity of 0).
    pub fn is_full(&self) -> bool {
        todo!()
    }

    /// Adds `value` after the newest value. If the buffer is full, nothing
    /// changes and the value comes back: `Err(value)`.
    pub fn push(&mut self, value: T) -> Result<(), T> {
        // TODO: write the value into the first free slot after the newest
        // one, wrapping at the end of the slots.
        todo!()
    }

    /// Removes the oldest value and returns it, or `None` if the buffer is
    /// empty.
    pub fn pop(&mut self) -> Option<T> {
        // TODO: move the oldest value out of its slot, and make sure the
        // buffer never reads or drops that slot again.
        todo!()
    }

    /// The oldest value, without removing it, or `None` if the buffer is
    /// empty.
    pub fn peek(&self) -> Option<&T> {
        todo!()
    }

    /// Iterates over the values by reference, oldest first, without
    /// removing them.
    pub fn iter(&self) -> Iter<'_, T> {
        todo!()
    }
}

impl<T> Drop for RingBuffer<T> {
    fn drop(&mut self) {
        // TODO: drop the values still in the buffer, each exactly once, and
        // keep dropping the others if one of their drops panics.
        //
        // (This body is empty rather than `todo!()`: a panic here while a
        // failed test is already unwinding would abort the whole test run.)
    }
}

/// The iterator of [`RingBuffer::iter`]: shared references to the values,
/// oldest first.
pub struct Iter<'a, T> {
    ring: &'a RingBuffer<T>,
    // How many values after `head` have been yielded.
    offset: usize,
}

impl<'a, T> Iterator for Iter<'a, T> {
    type Item = &'a T;

    fn next(&mut self) -> Option<&'a T> {
        todo!()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        // TODO: exactly how many values are left.
        todo!()
    }
}

impl<T> ExactSizeIterator for Iter<'_, T> {}

impl<T> FusedIterator for Iter<'_, T> {}

impl<'a, T> IntoIterator for &'a RingBuffer<T> {
    type Item = &'a T;
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

// What the two halves share. TODO: choose how `head` and `tail` count so
// that an empty queue and a full one look different.
struct Shared<T> {
    slots: Box<[UnsafeCell<MaybeUninit<T>>]>,
    // The next position to pop. Only the consumer stores it.
    head: AtomicUsize,
    // The next position to push. Only the producer stores it.
    tail: AtomicUsize,
}

// TODO: `impl<T> Drop for Shared<T>`: drop the values still in the queue once
// both halves are gone.

/// Creates a single-producer single-consumer queue for up to `capacity`
/// values: the [`Producer`] pushes, the [`Consumer`] pops, each on its own
/// thread if you like. Nothing blocks: `push` on a full queue and `pop` on an
/// empty one return at once. Values left in the queue are dropped when both
/// halves are gone; if one of those drops panics, the values after it are
/// leaked, never dropped twice.
///
/// Panics if `capacity` is above `usize::MAX / 2`.
pub fn spsc<T>(capacity: usize) -> (Producer<T>, Consumer<T>) {
    todo!()
}

/// The pushing half of an [`spsc`] queue.
pub struct Producer<T> {
    shared: Arc<Shared<T>>,
}

/// The popping half of an [`spsc`] queue.
pub struct Consumer<T> {
    shared: Arc<Shared<T>>,
}

// `Shared<T>` holds `UnsafeCell`s, so it is not `Sync`, and `Arc<Shared<T>>`
// is not `Send`. The tests move the halves to other threads, so these two
// promises are given; your push and pop must make them true.
//
// SAFETY: TODO: say why sending a half to another thread cannot cause a data
// race, in terms of which slots each half touches and which memory orderings
// hand a slot from one half to the other. Why `T: Send`?
unsafe impl<T: Send> Send for Producer<T> {}
// SAFETY: as for Producer above.
unsafe impl<T: Send> Send for Consumer<T> {}

impl<T> Producer<T> {
    /// Adds `value` after the newest value. If the queue is full, nothing
    /// changes and the value comes back: `Err(value)`.
    pub fn push(&mut self, value: T) -> Result<(), T> {
        // TODO: which memory ordering makes the consumer see the value?
        todo!()
    }

    /// How many values the queue can hold.
    pub fn capacity(&self) -> usize {
        todo!()
    }
}

impl<T> Consumer<T> {
    /// Removes the oldest value and returns it, or `None` if the queue is
    /// empty.
    pub fn pop(&mut self) -> Option<T> {
        todo!()
    }

    /// How many values the queue can hold.
    pub fn capacity(&self) -> usize {
        todo!()
    }
}
