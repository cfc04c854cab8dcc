//! What each unit was served: a bounded memory of (unit hash, flag) → the counter
//! cell of the variant served (see `counters`), so
//! that a tracked outcome is attributed only to the flags actually evaluated for
//! its unit (a rollout's guards must not judge one flag on another's failures).
//!
//! A fixed-size table of 4-way buckets, allocated once on first use: remembering is
//! O(1) and allocation-free afterwards, as [`super::Aggregator::record`] requires.
//! When the bucket of a (unit, flag) is full, an entry in it is overwritten,
//! so the memory forgets old units first in practice and never grows.

/// Entries per bucket: a bucket is one 64-byte cache line, so remembering touches
/// one line of a table that is far larger than the cache.
const WAYS: usize = 4;

/// An entry; `cell == EMPTY` marks a free one.
#[derive(Debug, Clone, Copy)]
struct Entry {
    unit: u64,
    flag: u32,
    cell: u32,
}

const EMPTY: u32 = u32::MAX;
const FREE: Entry = Entry {
    unit: 0,
    flag: 0,
    cell: EMPTY,
};

#[derive(Debug, Clone, Copy)]
#[repr(align(64))]
struct Bucket([Entry; WAYS]);

/// The bounded (unit, flag) → cell memory.
#[derive(Debug, Clone, Default)]
pub(crate) struct Served {
    buckets: Vec<Bucket>,
    /// Number of buckets (a power of two; 0 remembers nothing).
    capacity: usize,
    /// Rotates which entry of a full bucket is overwritten.
    evictions: usize,
}

fn bucket_of(unit: u64, flag: u32, mask: usize) -> usize {
    // `unit` is already a well-mixed hash; the multiply spreads the flag index.
    (unit ^ u64::from(flag).wrapping_mul(0x9E37_79B9_7F4A_7C15)) as usize & mask
}

impl Served {
    /// A memory of about `capacity` (unit, flag) pairs (rounded up to a power of
    /// two; 0 remembers nothing).
    pub(crate) fn new(capacity: usize) -> Served {
        Served {
            buckets: Vec::new(),
            capacity: if capacity == 0 {
                0
            } else {
                capacity.div_ceil(WAYS).next_power_of_two()
            },
            evictions: 0,
        }
    }

    /// Remembers that `unit` was served the variant counted in `cell` of `flag`.
    #[inline]
    pub(crate) fn remember(&mut self, unit: u64, flag: u32, cell: u32) {
        if self.capacity == 0 || cell == EMPTY {
            return;
        }
        if self.buckets.is_empty() {
            self.buckets = vec![Bucket([FREE; WAYS]); self.capacity];
        }
        let b = bucket_of(unit, flag, self.capacity - 1);
        let Bucket(entries) = &mut self.buckets[b];
        let mut free = None;
        for (i, e) in entries.iter_mut().enumerate() {
            if e.cell != EMPTY && e.unit == unit && e.flag == flag {
                e.cell = cell;
                return;
            }
            if e.cell == EMPTY && free.is_none() {
                free = Some(i);
            }
        }
        let i = free.unwrap_or_else(|| {
            self.evictions = self.evictions.wrapping_add(1);
            self.evictions % WAYS
        });
        entries[i] = Entry { unit, flag, cell };
    }

    /// The cell of the variant of `flag` last served to `unit`, if remembered.
    pub(crate) fn cell(&self, unit: u64, flag: u32) -> Option<u32> {
        if self.buckets.is_empty() {
            return None;
        }
        let Bucket(entries) = &self.buckets[bucket_of(unit, flag, self.capacity - 1)];
        entries
            .iter()
            .find(|e| e.cell != EMPTY && e.unit == unit && e.flag == flag)
            .map(|e| e.cell)
    }

    /// Re-indexes every entry when the counters' registry is rebuilt: `map` gives an
    /// entry's (flag, cell) under the new numbering, or `None` when it is gone.
    pub(crate) fn remap(&mut self, map: impl Fn(u32, u32) -> Option<(u32, u32)>) {
        if self.buckets.is_empty() {
            return;
        }
        let old: Vec<Entry> = self
            .buckets
            .iter()
            .flat_map(|b| b.0)
            .filter(|e| e.cell != EMPTY)
            .collect();
        self.buckets.fill(Bucket([FREE; WAYS]));
        for e in old {
            if let Some((flag, cell)) = map(e.flag, e.cell) {
                self.remember(e.unit, flag, cell);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_per_unit_and_flag_and_stays_bounded() {
        let mut s = Served::new(64);
        assert_eq!(s.cell(1, 0), None);
        s.remember(1, 0, 3);
        s.remember(1, 1, 0);
        s.remember(2, 0, 1);
        assert_eq!(s.cell(1, 0), Some(3));
        assert_eq!(s.cell(1, 1), Some(0));
        assert_eq!(s.cell(2, 0), Some(1));
        assert_eq!(s.cell(2, 1), None);
        s.remember(1, 0, 2);
        assert_eq!(s.cell(1, 0), Some(2), "the latest variant wins");
        // Thousands of units later the table has not grown.
        for u in 100..10_000u64 {
            s.remember(u.wrapping_mul(0x2545_F491_4F6C_DD1D), 0, 0);
        }
        assert_eq!(s.buckets.len() * WAYS, 64);
        assert_eq!(Served::new(0).cell(1, 0), None);
    }

    #[test]
    fn remap_follows_new_indices_and_forgets_removed_flags() {
        let mut s = Served::new(64);
        s.remember(7, 0, 1);
        s.remember(7, 1, 0);
        // Flag 0 moved to index 5; flag 1 is gone.
        s.remap(|f, v| (f == 0).then_some((5, v)));
        assert_eq!(s.cell(7, 5), Some(1));
        assert_eq!(s.cell(7, 0), None);
        assert_eq!(s.cell(7, 1), None);
    }
}
