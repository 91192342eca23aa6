//! Exercise 19: two lock-free structures.
//!
//! - (a) [`oneshot`]: a channel that carries exactly one value from one
//!   thread to another, built from one atomic state byte and one slot.
//! - (b) [`Stack`]: a Treiber stack, a linked list whose head is swapped
//!   with compare-and-exchange, its popped nodes freed by crossbeam-epoch.

use std::mem::{ManuallyDrop, MaybeUninit};
use std::ptr;

use crossbeam_epoch::{self as epoch, Atomic, Owned};
use std::sync::atomic::Ordering as StdOrdering;

// Given: std's atomics, or loom's under `--cfg loom`.
#[path = "../../../exercises/19-lock-free/src/sync.rs"]
mod sync;

use sync::{Arc, AtomicU8, Ordering, UnsafeCell};

// ANCHOR: states
/// Nothing sent yet, and the sender is still alive.
const EMPTY: u8 = 0;
/// The value is in the slot.
const READY: u8 = 1;
/// The sender was dropped without sending.
const CLOSED: u8 = 2;
/// The receiver took the value out of the slot.
const TAKEN: u8 = 3;
// ANCHOR_END: states

/// The part both halves share.
struct Shared<T> {
    state: AtomicU8,
    slot: UnsafeCell<MaybeUninit<T>>,
}

// SAFETY: the slot is written by the sender before it publishes READY with
// Release, and read by the receiver only after it saw READY with Acquire (or
// by the last owner, in Drop); never by two threads at once. The value moves
// from one thread to the other, so T: Send is needed, and enough.
unsafe impl<T: Send> Sync for Shared<T> {}
// SAFETY: as above: Shared owns at most one T, which may be dropped on
// either thread.
unsafe impl<T: Send> Send for Shared<T> {}

/// Creates a one-shot channel: the [`Sender`] sends at most one value, the
/// [`Receiver`] receives it.
pub fn oneshot<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: AtomicU8::new(EMPTY),
        slot: UnsafeCell::new(MaybeUninit::uninit()),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

/// The sending half of a one-shot channel.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// The receiving half of a one-shot channel.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

// ANCHOR: send
impl<T> Sender<T> {
    /// Sends `value` to the receiver. Never blocks. If the receiver is
    /// already gone, the value is dropped with the channel.
    pub fn send(self, value: T) {
        // SAFETY: only the sender writes the slot, and it writes it once
        // (send takes self). The receiver does not read it before it sees
        // READY, which is stored below, after this write.
        self.shared.slot.with_mut(|slot| unsafe {
            slot.write(MaybeUninit::new(value));
        });
        // Release: everything before this store (the write of the value) is
        // visible to a thread whose Acquire load reads READY.
        self.shared.state.store(READY, Ordering::Release);
        // `self` is dropped here; Drop sees READY and changes nothing.
    }
}

impl<T> Drop for Sender<T> {
    /// A sender dropped without sending closes the channel: the receiver's
    /// `recv` then returns `None` instead of waiting forever.
    fn drop(&mut self) {
        // Only EMPTY becomes CLOSED; after a send the state stays READY.
        let _ =
            self.shared
                .state
                .compare_exchange(EMPTY, CLOSED, Ordering::Release, Ordering::Relaxed);
    }
}
// ANCHOR_END: send

// ANCHOR: recv
impl<T> Receiver<T> {
    /// Waits until the value has been sent and returns it, or returns `None`
    /// once the sender has been dropped without sending.
    pub fn recv(self) -> Option<T> {
        loop {
            // Acquire pairs with the sender's Release store of READY.
            match self.shared.state.load(Ordering::Acquire) {
                READY => {
                    // SAFETY: READY was stored (with Release) after the slot
                    // was written, and we read it with Acquire, so the write
                    // happened before this read. TAKEN, stored next, makes
                    // sure nobody reads or drops the value again.
                    let value = self
                        .shared
                        .slot
                        .with(|slot| unsafe { (*slot).assume_init_read() });
                    // Only this receiver changes READY, and it owns self.
                    self.shared.state.store(TAKEN, Ordering::Relaxed);
                    return Some(value);
                }
                CLOSED => return None,
                // Not sent yet: let the sender's thread run.
                _ => sync::yield_now(),
            }
        }
    }
}
// ANCHOR_END: recv

impl<T> Drop for Shared<T> {
    /// The last owner of the channel drops a value that was sent but never
    /// received.
    fn drop(&mut self) {
        if self.state.load(Ordering::Acquire) == READY {
            // SAFETY: READY means the slot holds a value no one took, and
            // this is the last reference to the channel (Arc's drop of the
            // last reference synchronises with the other half's drop).
            self.slot
                .with_mut(|slot| unsafe { (*slot).assume_init_drop() });
        }
    }
}

// ANCHOR: stack
/// A lock-free stack (Treiber's): any number of threads push and pop at
/// once through a shared reference.
pub struct Stack<T> {
    head: Atomic<Node<T>>,
}

struct Node<T> {
    // ManuallyDrop: pop moves the value out with ptr::read, and the node
    // itself is destroyed later by the epoch collector. The node must not
    // drop the value a second time.
    value: ManuallyDrop<T>,
    next: Atomic<Node<T>>,
}
// ANCHOR_END: stack

impl<T> Default for Stack<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Stack<T> {
    /// Creates an empty stack.
    pub fn new() -> Self {
        Stack {
            head: Atomic::null(),
        }
    }

    // ANCHOR: push
    /// Pushes `value` on top of the stack.
    pub fn push(&self, value: T) {
        let mut node = Owned::new(Node {
            value: ManuallyDrop::new(value),
            next: Atomic::null(),
        });
        let guard = epoch::pin();
        loop {
            let head = self.head.load(StdOrdering::Relaxed, &guard);
            node.next.store(head, StdOrdering::Relaxed);
            // Release: a pop that loads this node with Acquire sees its
            // value and its next pointer. _weak: a spurious failure only
            // costs one more turn of the loop we need anyway.
            match self.head.compare_exchange_weak(
                head,
                node,
                StdOrdering::Release,
                StdOrdering::Relaxed,
                &guard,
            ) {
                Ok(_) => return,
                // Someone else changed the head: try again with our node.
                Err(error) => node = error.new,
            }
        }
    }
    // ANCHOR_END: push

    // ANCHOR: pop
    /// Removes the value on top of the stack and returns it, or `None` if
    /// the stack is empty.
    pub fn pop(&self) -> Option<T> {
        let guard = epoch::pin();
        loop {
            let head = self.head.load(StdOrdering::Acquire, &guard);
            // SAFETY: `head` was loaded while this thread is pinned, so even
            // if another thread pops it now, it is not freed before `guard`
            // is dropped (it is freed with defer_destroy, below).
            let node = unsafe { head.as_ref() }?;
            let next = node.next.load(StdOrdering::Relaxed, &guard);
            if self
                .head
                .compare_exchange(
                    head,
                    next,
                    StdOrdering::Release,
                    StdOrdering::Relaxed,
                    &guard,
                )
                .is_ok()
            {
                // SAFETY: our compare_exchange unlinked the node, so no
                // other pop returns its value: we move it out once.
                // Threads pinned earlier may still read the node's `next`,
                // so it is not freed now but once they have all unpinned.
                unsafe {
                    let value = ptr::read(&node.value);
                    guard.defer_destroy(head);
                    return Some(ManuallyDrop::into_inner(value));
                }
            }
        }
    }
    // ANCHOR_END: pop

    /// Returns `true` if the stack holds no values (at the moment of the
    /// call; another thread may push or pop right after).
    pub fn is_empty(&self) -> bool {
        let guard = epoch::pin();
        self.head.load(StdOrdering::Acquire, &guard).is_null()
    }
}

// ANCHOR: drop
impl<T> Drop for Stack<T> {
    /// Drops every value still on the stack, and frees the nodes.
    fn drop(&mut self) {
        // SAFETY: `&mut self`: no other thread can reach the stack any more,
        // so nodes can be freed at once, without pinning.
        unsafe {
            let guard = epoch::unprotected();
            let mut current = self.head.load(StdOrdering::Relaxed, guard);
            while !current.is_null() {
                let node = current.into_owned().into_box();
                current = node.next.load(StdOrdering::Relaxed, guard);
                drop(ManuallyDrop::into_inner(node.value));
            }
        }
    }
}
// ANCHOR_END: drop
