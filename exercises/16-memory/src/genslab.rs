//! Part 2: a slab whose keys remember which occupant they were issued for.

/// A handle to a value in a [`GenSlab`]: the slot's index and the slot's
/// generation when the value was inserted. Copy it freely; it borrows
/// nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    index: u32,
    generation: u32,
}

impl Key {
    /// The slot this key points to. Keys of values that lived in the same
    /// slot at different times share it.
    pub fn index(self) -> usize {
        self.index as usize
    }

    /// The slot's generation when this key was issued.
    pub fn generation(self) -> u32 {
        self.generation
    }
}

/// A slab with generational keys: `insert` stores a value in a free slot
/// (reusing removed slots before growing) and returns a [`Key`]; a key whose
/// value was removed never reaches another value, even after its slot is
/// reused: `get`, `get_mut` and `remove` return `None` for it.
///
/// Generations are `u32`. A slot whose generation would wrap around (after
/// 2^32 removals from the same slot) is retired, never reused, so that an
/// old key can never match again; that costs one slot per 4 billion reuses.
pub struct GenSlab<T> {
    // TODO: replace this with your fields: the slots (each with its
    // generation and maybe a value), the free slots, the number of values.
    _todo: std::marker::PhantomData<T>,
}

impl<T> Default for GenSlab<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> GenSlab<T> {
    /// An empty slab; it allocates nothing until the first insert.
    pub fn new() -> Self {
        todo!()
    }

    /// Stores `value` and returns its key. Panics only if the slab would
    /// need more than `u32::MAX` slots.
    pub fn insert(&mut self, value: T) -> Key {
        todo!()
    }

    /// The value of `key`, or `None` if it was removed (or never existed).
    pub fn get(&self, key: Key) -> Option<&T> {
        todo!()
    }

    /// The value of `key`, mutably, or `None` as for [`GenSlab::get`].
    pub fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        todo!()
    }

    /// Whether `key` still refers to a value.
    pub fn contains(&self, key: Key) -> bool {
        todo!()
    }

    /// Removes and returns the value of `key`; `None` (and nothing changes)
    /// if the key is stale or unknown.
    pub fn remove(&mut self, key: Key) -> Option<T> {
        todo!()
    }

    /// How many values are stored.
    pub fn len(&self) -> usize {
        todo!()
    }

    /// Whether no value is stored.
    pub fn is_empty(&self) -> bool {
        todo!()
    }

    /// Every stored value with its key, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (Key, &T)> + '_ {
        // TODO: replace this empty iterator (it only makes the stub compile).
        todo!();
        std::iter::empty()
    }
}
