//! MurmurHash3 (x86, 32-bit) and the bucketing function built on it.
//!
//! `bucket = murmur3_x86_32(utf8(salt + "." + unit), seed 0) % 100_000`.
//! The hash is computed over the concatenation without building it: the salt's
//! prefix bytes (`salt + "."`) are precomputed at load and the unit is streamed after
//! them, so bucketing never allocates.

/// Size of the bucket space: 100 000 buckets give 0.001 % granularity.
pub const BUCKETS: u32 = 100_000;

const C1: u32 = 0xcc9e_2d51;
const C2: u32 = 0x1b87_3593;

#[inline(always)]
fn mix_k(mut k: u32) -> u32 {
    k = k.wrapping_mul(C1);
    k = k.rotate_left(15);
    k.wrapping_mul(C2)
}

#[inline(always)]
fn mix_h(h: u32, k: u32) -> u32 {
    let h = (h ^ mix_k(k)).rotate_left(13);
    h.wrapping_mul(5).wrapping_add(0xe654_6b64)
}

#[inline(always)]
fn finish(mut h: u32, len: usize) -> u32 {
    h ^= len as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// MurmurHash3 x86 32-bit of `data` with `seed`.
pub fn murmur3_x86_32(data: &[u8], seed: u32) -> u32 {
    murmur3_x86_32_concat(data, &[], seed)
}

/// MurmurHash3 x86 32-bit of the concatenation `a || b`, without allocating.
pub fn murmur3_x86_32_concat(a: &[u8], b: &[u8], seed: u32) -> u32 {
    let len = a.len() + b.len();
    let mut h = seed;
    // A 4-byte window that may straddle the two slices.
    let mut window = [0u8; 4];
    let mut filled = 0usize;
    let mut feed = |bytes: &[u8], h: &mut u32| {
        let mut rest = bytes;
        if filled > 0 {
            let take = (4 - filled).min(rest.len());
            window[filled..filled + take].copy_from_slice(&rest[..take]);
            filled += take;
            rest = &rest[take..];
            if filled < 4 {
                return;
            }
            *h = mix_h(*h, u32::from_le_bytes(window));
            filled = 0;
        }
        let mut chunks = rest.chunks_exact(4);
        for c in &mut chunks {
            *h = mix_h(*h, u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
        }
        let tail = chunks.remainder();
        window[..tail.len()].copy_from_slice(tail);
        filled = tail.len();
    };
    feed(a, &mut h);
    feed(b, &mut h);
    if filled > 0 {
        let mut k = 0u32;
        for (i, byte) in window[..filled].iter().enumerate() {
            k |= (*byte as u32) << (8 * i);
        }
        h ^= mix_k(k);
    }
    finish(h, len)
}

/// The bytes a unit is hashed after (a salt), with MurmurHash3's state after them
/// precomputed at load: bucketing then mixes only the unit's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HashPrefix {
    bytes: Box<[u8]>,
    /// The state after the prefix's whole 4-byte blocks.
    h: u32,
    /// The prefix's last `bytes.len() % 4` bytes, little-endian.
    tail: u32,
}

impl HashPrefix {
    /// `bytes`, hashed with `seed`.
    pub(crate) fn new(bytes: Box<[u8]>, seed: u32) -> HashPrefix {
        let mut h = seed;
        let mut blocks = bytes.chunks_exact(4);
        for c in &mut blocks {
            h = mix_h(h, u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
        }
        let tail = blocks
            .remainder()
            .iter()
            .enumerate()
            .fold(0u32, |k, (i, &b)| k | u32::from(b) << (8 * i));
        HashPrefix { bytes, h, tail }
    }

    /// The prefix's bytes.
    #[cfg_attr(not(feature = "authoring"), allow(dead_code))] // read by the native encoder
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// `murmur3_x86_32(prefix + unit, seed)`.
    #[inline]
    pub(crate) fn hash(&self, unit: &[u8]) -> u32 {
        let mut h = self.h;
        let mut k = self.tail;
        let mut filled = self.bytes.len() % 4;
        let mut rest = unit;
        // Complete the block the prefix left open.
        if filled > 0 {
            let take = (4 - filled).min(rest.len());
            for (i, &b) in rest[..take].iter().enumerate() {
                k |= u32::from(b) << (8 * (filled + i));
            }
            filled += take;
            rest = &rest[take..];
            if filled == 4 {
                h = mix_h(h, k);
                k = 0;
                filled = 0;
            }
        }
        let mut blocks = rest.chunks_exact(4);
        for c in &mut blocks {
            h = mix_h(h, u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
        }
        for (i, &b) in blocks.remainder().iter().enumerate() {
            k |= u32::from(b) << (8 * (filled + i));
        }
        if filled + blocks.remainder().len() > 0 {
            h ^= mix_k(k);
        }
        finish(h, self.bytes.len() + unit.len())
    }
}

/// The bytes every unit of a salt is hashed after: `salt + "."`.
pub fn salt_prefix(salt: &str) -> Box<[u8]> {
    let mut prefix = Vec::with_capacity(salt.len() + 1);
    prefix.extend_from_slice(salt.as_bytes());
    prefix.push(b'.');
    prefix.into_boxed_slice()
}

/// The bucket (0..100 000) of `unit` under a precomputed [`salt_prefix`].
#[inline]
pub fn bucket_with_prefix(prefix: &[u8], unit: &str) -> u32 {
    murmur3_x86_32_concat(prefix, unit.as_bytes(), 0) % BUCKETS
}

/// The bucket (0..100 000) of `unit` under `salt`.
pub fn bucket(salt: &str, unit: &str) -> u32 {
    bucket_with_prefix(&salt_prefix(salt), unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn a_precomputed_prefix_hashes_as_the_concatenation(
            prefix in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..12),
            unit in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..12),
            seed in proptest::prelude::any::<u32>(),
        ) {
            let whole: Vec<u8> = prefix.iter().chain(&unit).copied().collect();
            let p = HashPrefix::new(prefix.into_boxed_slice(), seed);
            proptest::prop_assert_eq!(p.hash(&unit), murmur3_x86_32(&whole, seed));
        }
    }

    #[test]
    fn known_hashes() {
        assert_eq!(murmur3_x86_32(b"", 0), 0);
        assert_eq!(murmur3_x86_32(b"hello", 0), 613_153_351);
        assert_eq!(
            murmur3_x86_32(b"The quick brown fox jumps over the lazy dog", 0),
            776_992_547
        );
    }

    #[test]
    fn concatenation_matches_whole_input_at_every_split() {
        let data = b"enhanced-order-routing-v2.user-12345";
        let whole = murmur3_x86_32(data, 0);
        for split in 0..=data.len() {
            let (a, b) = data.split_at(split);
            assert_eq!(murmur3_x86_32_concat(a, b, 0), whole, "split at {split}");
        }
    }
}
