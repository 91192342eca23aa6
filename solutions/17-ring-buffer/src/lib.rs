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

// ANCHOR: ring
/// A first-in first-out queue of at most `capacity` values, stored in one
/// allocation made by [`RingBuffer::with_capacity`] and never grown.
///
/// Dropping the buffer drops the values still in it, oldest first. If one of
/// those drops panics, the others are still dropped (none twice), and then
/// the panic goes on.
pub struct RingBuffer<T> {
    // The invariant every `unsafe` block below relies on: exactly the `len`
    // slots at `head, head + 1, ...` (counted modulo the capacity) hold
    // initialised values; all other slots are uninitialised.
    slots: Box<[MaybeUninit<T>]>,
    head: usize,
    len: usize,
}
// ANCHOR_END: ring

impl<T> RingBuffer<T> {
    /// Creates an empty buffer for up to `capacity` values. The slots are
    /// allocated here, uninitialised; a capacity of 0 or a zero-sized `T`
    /// allocates nothing. A zero-sized `T` still counts: the buffer holds at
    /// most `capacity` of them.
    pub fn with_capacity(capacity: usize) -> Self {
        RingBuffer {
            slots: Box::new_uninit_slice(capacity),
            head: 0,
            len: 0,
        }
    }

    /// How many values the buffer can hold.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// How many values the buffer holds now.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the buffer holds no value.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the buffer holds `capacity` values (always true for a
    /// capacity of 0).
    pub fn is_full(&self) -> bool {
        self.len == self.capacity()
    }

    // ANCHOR: push_pop
    /// Adds `value` after the newest value. If the buffer is full, nothing
    /// changes and the value comes back: `Err(value)`.
    pub fn push(&mut self, value: T) -> Result<(), T> {
        if self.is_full() {
            return Err(value);
        }
        let tail = self.index(self.len);
        // `write` does not drop what was in the slot: it is uninitialised.
        self.slots[tail].write(value);
        self.len += 1;
        Ok(())
    }

    /// Removes the oldest value and returns it, or `None` if the buffer is
    /// empty.
    pub fn pop(&mut self) -> Option<T> {
        if self.is_empty() {
            return None;
        }
        let head = self.head;
        // Forget the slot first: from here on the buffer treats it as
        // uninitialised, so the value is moved out below exactly once.
        self.head = self.index(1);
        self.len -= 1;
        // SAFETY: `head` was the oldest of the `len` initialised slots, so it
        // holds a value. The buffer no longer counts it (head and len moved
        // on above), so nothing reads or drops it again until a push writes
        // a new value there: this read is the value's only move out.
        Some(unsafe { self.slots[head].assume_init_read() })
    }
    // ANCHOR_END: push_pop

    /// The oldest value, without removing it, or `None` if the buffer is
    /// empty.
    pub fn peek(&self) -> Option<&T> {
        if self.is_empty() {
            return None;
        }
        // SAFETY: with `len > 0` the slot at `head` is initialised. The
        // reference borrows `self`, so no `pop` or drop can move the value
        // out while it is alive.
        Some(unsafe { self.slots[self.head].assume_init_ref() })
    }

    /// Iterates over the values by reference, oldest first, without
    /// removing them.
    pub fn iter(&self) -> Iter<'_, T> {
        Iter {
            ring: self,
            offset: 0,
        }
    }

    /// The slot `offset` places after `head`, wrapping at the capacity.
    /// Needs `offset <= capacity` and a capacity above 0; written so that
    /// nothing overflows even for a zero-sized `T` with a capacity near
    /// `usize::MAX`, and with no `%` (a division).
    fn index(&self, offset: usize) -> usize {
        let to_end = self.capacity() - self.head;
        if offset >= to_end {
            offset - to_end
        } else {
            self.head + offset
        }
    }
}

// ANCHOR: drop
impl<T> Drop for RingBuffer<T> {
    fn drop(&mut self) {
        // If a value's drop panics, unwinding drops this guard, whose own
        // drop pops and drops the rest. A second panic during that unwinding
        // aborts the process, as it does for Vec.
        struct DropTheRest<'a, T>(&'a mut RingBuffer<T>);
        impl<T> Drop for DropTheRest<'_, T> {
            fn drop(&mut self) {
                while self.0.pop().is_some() {}
            }
        }

        let guard = DropTheRest(self);
        // `pop` forgets each slot before its value is dropped, so a value
        // whose drop panicked is never dropped again.
        while let Some(value) = guard.0.pop() {
            drop(value);
        }
    }
}
// ANCHOR_END: drop

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
        if self.offset == self.ring.len {
            return None;
        }
        let index = self.ring.index(self.offset);
        self.offset += 1;
        // SAFETY: `offset < len`, so the slot is one of the initialised
        // ones. The iterator borrows the buffer for 'a, so no push, pop or
        // drop can change the slot while the reference lives.
        Some(unsafe { self.ring.slots[index].assume_init_ref() })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.ring.len - self.offset;
        (left, Some(left))
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

// ANCHOR: shared
// What the two halves share. Positions count from 0 to 2 * capacity - 1 and
// wrap there: with twice as many positions as slots, `head == tail` means
// empty and a distance of `capacity` means full, and no slot is wasted.
struct Shared<T> {
    slots: Box<[UnsafeCell<MaybeUninit<T>>]>,
    // The next position to pop. Only the consumer stores it.
    head: AtomicUsize,
    // The next position to push. Only the producer stores it.
    tail: AtomicUsize,
}
// ANCHOR_END: shared

impl<T> Shared<T> {
    fn capacity(&self) -> usize {
        self.slots.len()
    }

    fn next(&self, position: usize) -> usize {
        if position + 1 == 2 * self.capacity() {
            0
        } else {
            position + 1
        }
    }

    // How many values lie between `head` and `tail`.
    fn distance(&self, head: usize, tail: usize) -> usize {
        if tail >= head {
            tail - head
        } else {
            2 * self.capacity() - head + tail
        }
    }

    fn slot(&self, position: usize) -> &UnsafeCell<MaybeUninit<T>> {
        let capacity = self.capacity();
        let index = if position >= capacity {
            position - capacity
        } else {
            position
        };
        &self.slots[index]
    }
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        // Both halves are gone: `&mut self` means no other thread is here,
        // and the Arc's last drop synchronised with the other half's.
        let tail = *self.tail.get_mut();
        while *self.head.get_mut() != tail {
            let head = *self.head.get_mut();
            // Move head on before dropping: a panicking drop then leaks the
            // values after it instead of dropping one twice.
            *self.head.get_mut() = self.next(head);
            // SAFETY: positions from head up to tail hold values the
            // producer pushed and the consumer did not pop; head has already
            // moved past this one, so it is dropped exactly once.
            unsafe { (*self.slot(head).get()).assume_init_drop() };
        }
    }
}

/// Creates a single-producer single-consumer queue for up to `capacity`
/// values: the [`Producer`] pushes, the [`Consumer`] pops, each on its own
/// thread if you like. Nothing blocks: `push` on a full queue and `pop` on an
/// empty one return at once. Values left in the queue are dropped when both
/// halves are gone; if one of those drops panics, the values after it are
/// leaked, never dropped twice.
///
/// Panics if `capacity` is above `usize::MAX / 2`.
pub fn spsc<T>(capacity: usize) -> (Producer<T>, Consumer<T>) {
    assert!(
        capacity <= usize::MAX / 2,
        "spsc capacity {capacity} is above usize::MAX / 2"
    );
    let slots = (0..capacity)
        .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
        .collect();
    let shared = Arc::new(Shared {
        slots,
        head: AtomicUsize::new(0),
        tail: AtomicUsize::new(0),
    });
    (
        Producer {
            shared: Arc::clone(&shared),
        },
        Consumer { shared },
    )
}

/// The pushing half of an [`spsc`] queue.
pub struct Producer<T> {
    shared: Arc<Shared<T>>,
}

/// The popping half of an [`spsc`] queue.
pub struct Consumer<T> {
    shared: Arc<Shared<T>>,
}

// ANCHOR: send
// `Shared<T>` holds `UnsafeCell`s, so it is not `Sync`, and `Arc<Shared<T>>`
// is not `Send`: the compiler cannot know that the two halves never touch the
// same slot at the same time. We promise it:
//
// SAFETY: a Producer writes only slots outside head..tail and then publishes
// them with a Release store of `tail`; a Consumer reads only slots inside
// head..tail, seen through an Acquire load of `tail`, and gives them back
// with a Release store of `head`, which the producer loads with Acquire.
// Each slot therefore has one owner at a time, and `&mut self` on push and
// pop means one thread per half. The values themselves move from one thread
// to the other, hence `T: Send`.
unsafe impl<T: Send> Send for Producer<T> {}
// SAFETY: as for Producer above.
unsafe impl<T: Send> Send for Consumer<T> {}
// ANCHOR_END: send

impl<T> Producer<T> {
    // ANCHOR: spsc_push
    /// Adds `value` after the newest value. If the queue is full, nothing
    /// changes and the value comes back: `Err(value)`.
    pub fn push(&mut self, value: T) -> Result<(), T> {
        let shared = &*self.shared;
        // Only this half stores `tail`: reading our own last store needs no
        // ordering.
        let tail = shared.tail.load(Ordering::Relaxed);
        // Acquire pairs with the consumer's Release store of `head`: its
        // reads of the slots before `head` happen before our writes below.
        let head = shared.head.load(Ordering::Acquire);
        if shared.distance(head, tail) == shared.capacity() {
            return Err(value);
        }
        // SAFETY: the queue is not full, so the slot at `tail` is outside
        // head..tail: the consumer has not been given it (we have not
        // published it yet) or has finished reading it (Acquire above). Only
        // this producer writes slots, so this write has the slot to itself.
        unsafe { (*shared.slot(tail).get()).write(value) };
        // Release: the write above happens before the consumer's Acquire
        // load that sees the new `tail`.
        shared.tail.store(shared.next(tail), Ordering::Release);
        Ok(())
    }
    // ANCHOR_END: spsc_push

    /// How many values the queue can hold.
    pub fn capacity(&self) -> usize {
        self.shared.capacity()
    }
}

impl<T> Consumer<T> {
    // ANCHOR: spsc_pop
    /// Removes the oldest value and returns it, or `None` if the queue is
    /// empty.
    pub fn pop(&mut self) -> Option<T> {
        let shared = &*self.shared;
        let head = shared.head.load(Ordering::Relaxed);
        // Acquire pairs with the producer's Release store of `tail`: its
        // write of the slot happens before our read below.
        let tail = shared.tail.load(Ordering::Acquire);
        if head == tail {
            return None;
        }
        // SAFETY: head != tail, so the slot at `head` holds a value the
        // producer published (Acquire above) and will not touch until we
        // move `head` past it. We read it once and then move `head` on.
        let value = unsafe { (*shared.slot(head).get()).assume_init_read() };
        // Release: our read happens before the producer's Acquire load that
        // sees the new `head`, and so before it writes this slot again.
        shared.head.store(shared.next(head), Ordering::Release);
        Some(value)
    }
    // ANCHOR_END: spsc_pop

    /// How many values the queue can hold.
    pub fn capacity(&self) -> usize {
        self.shared.capacity()
    }
}
