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

// A slot's generation changes each time its value is removed, so that keys
// issued for earlier occupants no longer match.
struct Slot<T> {
    generation: u32,
    value: Option<T>,
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
    slots: Vec<Slot<T>>,
    // Indices of vacant slots, reused last-removed first (as slab does).
    free: Vec<u32>,
    len: usize,
}

impl<T> Default for GenSlab<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> GenSlab<T> {
    /// An empty slab; it allocates nothing until the first insert.
    pub fn new() -> Self {
        GenSlab {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }

    /// Stores `value` and returns its key. Panics only if the slab would
    /// need more than `u32::MAX` slots.
    pub fn insert(&mut self, value: T) -> Key {
        self.len += 1;
        if let Some(index) = self.free.pop() {
            let slot = &mut self.slots[index as usize];
            debug_assert!(slot.value.is_none());
            slot.value = Some(value);
            return Key {
                index,
                generation: slot.generation,
            };
        }
        let index = u32::try_from(self.slots.len()).expect("GenSlab: more than u32::MAX slots");
        self.slots.push(Slot {
            generation: 0,
            value: Some(value),
        });
        Key {
            index,
            generation: 0,
        }
    }

    /// The value of `key`, or `None` if it was removed (or never existed).
    pub fn get(&self, key: Key) -> Option<&T> {
        let slot = self.slots.get(key.index as usize)?;
        if slot.generation != key.generation {
            return None; // the slot has been emptied since: a stale key
        }
        slot.value.as_ref()
    }

    /// The value of `key`, mutably, or `None` as for [`GenSlab::get`].
    pub fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        let slot = self.slots.get_mut(key.index as usize)?;
        if slot.generation != key.generation {
            return None;
        }
        slot.value.as_mut()
    }

    /// Whether `key` still refers to a value.
    pub fn contains(&self, key: Key) -> bool {
        self.get(key).is_some()
    }

    /// Removes and returns the value of `key`; `None` (and nothing changes)
    /// if the key is stale or unknown.
    pub fn remove(&mut self, key: Key) -> Option<T> {
        let slot = self.slots.get_mut(key.index as usize)?;
        if slot.generation != key.generation {
            return None;
        }
        let value = slot.value.take()?;
        self.len -= 1;
        // Every key issued so far for this slot now has an old generation.
        // If the generation would wrap to 0, keys 2^32 generations old
        // would match again: the slot is retired instead (left vacant and
        // never put on the free list).
        if let Some(next) = slot.generation.checked_add(1) {
            slot.generation = next;
            self.free.push(key.index);
        }
        Some(value)
    }

    /// How many values are stored.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no value is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every stored value with its key, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (Key, &T)> + '_ {
        self.slots.iter().enumerate().filter_map(|(index, slot)| {
            let value = slot.value.as_ref()?;
            let key = Key {
                index: index as u32,
                generation: slot.generation,
            };
            Some((key, value))
        })
    }
}
