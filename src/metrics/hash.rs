//! Unit hashing for the unique-units sketch and keyed pseudonyms for audit events.

use hmac::{Hmac, Mac};
use sha2::Sha256;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// The 64-bit hash of a unit id that feeds the [`super::HyperLogLog`] sketch.
///
/// Stable across platforms and releases (sketches from different edges and versions
/// are merged, so this function must never change): FNV-1a 64 over the UTF-8 bytes of
/// `unit` (offset basis `0xcbf29ce484222325`, prime `0x100000001b3`), followed by the
/// MurmurHash3 `fmix64` finalizer (`h ^= h >> 33; h *= 0xff51afd7ed558ccd; h ^= h >> 33;
/// h *= 0xc4ceb9fe1a85ec53; h ^= h >> 33`, wrapping), which spreads FNV's weak high
/// bits over the whole word.
pub fn unit_hash(unit: &str) -> u64 {
    let mut h = FNV_OFFSET;
    for &b in unit.as_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    fmix64(h)
}

/// MurmurHash3's 64-bit finalizer.
fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// The keyed pseudonym of a unit id carried by evaluation audit events: the lowercase
/// hex of the first 16 bytes of HMAC-SHA256(`key`, UTF-8 `unit`), 32 characters.
///
/// The same unit under the same key always gets the same pseudonym, so an auditor
/// holding the key can recompute it for a given id; without the key it reveals
/// nothing. Use a secret key of at least 32 random bytes: an empty or guessable key
/// lets anyone test candidate ids.
pub fn pseudonym(key: &[u8], unit: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(unit.as_bytes());
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(32);
    for &b in &digest[..16] {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 15)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_hash_is_fnv1a_then_fmix64() {
        // FNV-1a 64 reference values (from the FNV specification's test suite).
        let fnv = |s: &str| {
            s.bytes().fold(FNV_OFFSET, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(FNV_PRIME)
            })
        };
        assert_eq!(fnv(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv("foobar"), 0x8594_4171_f739_67e8);
        assert_eq!(unit_hash("a"), fmix64(0xaf63_dc4c_8601_ec8c));
        // Golden values: a change here breaks merging with older edges.
        assert_eq!(unit_hash(""), GOLDEN[0]);
        assert_eq!(unit_hash("user-12345"), GOLDEN[1]);
        assert_eq!(unit_hash("ünït"), GOLDEN[2]);
    }

    /// Computed by an independent (Python) implementation.
    const GOLDEN: [u64; 3] = [
        0xefd0_1f60_ba99_2926,
        0xbc66_abcd_4a49_b359,
        0x1dd1_6858_bc09_3c28,
    ];

    #[test]
    fn pseudonym_is_truncated_hmac_sha256() {
        // RFC 4231 test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?").
        assert_eq!(
            pseudonym(b"Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c7"
        );
        assert_ne!(pseudonym(b"k1", "user-1"), pseudonym(b"k2", "user-1"));
        assert_eq!(pseudonym(b"k1", "user-1"), pseudonym(b"k1", "user-1"));
    }
}
