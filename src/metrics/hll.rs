//! A HyperLogLog sketch of distinct units (precision 10: 1 024 one-byte registers,
//! about 3.25 % standard error), mergeable across edges and batches.

use crate::snapshot::base64;

/// Precision: the number of hash bits that select a register.
pub const HLL_PRECISION: u8 = 10;
/// Number of registers (`2^HLL_PRECISION`).
pub const HLL_REGISTERS: usize = 1 << HLL_PRECISION;
/// Largest possible register value (`64 - precision + 1`).
const MAX_RANK: u8 = 64 - HLL_PRECISION + 1;

/// A HyperLogLog sketch over 64-bit hashes (see [`super::unit_hash`]).
///
/// The registers are allocated on the first insert, so an empty sketch costs one
/// pointer. The top 10 bits of a hash select the register; the register keeps the
/// largest rank (leading zeros of the remaining 54 bits, plus one) seen.
///
/// In a batch it is `{"p": 10, "sparse": [[index, rank], ...]}` or, when that is
/// longer, `{"p": 10, "dense": "<base64 of the 1 024 registers>"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "authoring",
    derive(serde::Serialize, serde::Deserialize),
    serde(into = "Wire", try_from = "Wire")
)]
pub struct HyperLogLog {
    registers: Option<Box<[u8; HLL_REGISTERS]>>,
}

impl HyperLogLog {
    /// An empty sketch (allocates nothing).
    pub const fn new() -> Self {
        HyperLogLog { registers: None }
    }

    /// True when nothing has been inserted (or all registers are zero).
    pub fn is_empty(&self) -> bool {
        self.registers
            .as_ref()
            .is_none_or(|r| r.iter().all(|&x| x == 0))
    }

    /// Adds one hashed unit. O(1); allocates only on the first insert.
    #[inline]
    pub fn insert(&mut self, hash: u64) {
        let index = (hash >> (64 - HLL_PRECISION)) as usize;
        let rest = hash << HLL_PRECISION;
        let rank = (rest.leading_zeros() as u8 + 1).min(MAX_RANK);
        let registers = self.registers_mut();
        if registers[index] < rank {
            registers[index] = rank;
        }
    }

    /// Folds `other` into this sketch: the result estimates the union.
    pub fn merge(&mut self, other: &HyperLogLog) {
        let Some(theirs) = other.registers.as_ref() else {
            return;
        };
        let ours = self.registers_mut();
        for (a, &b) in ours.iter_mut().zip(theirs.iter()) {
            if *a < b {
                *a = b;
            }
        }
    }

    /// Resets every register to zero, keeping the allocation.
    pub fn clear(&mut self) {
        if let Some(r) = self.registers.as_mut() {
            r.fill(0);
        }
    }

    /// The estimated number of distinct hashes inserted: the standard HyperLogLog
    /// estimate, with linear counting when it is at most 2.5 m and some registers
    /// are still zero. (64-bit hashes need no large-range correction.)
    pub fn estimate(&self) -> f64 {
        let Some(registers) = self.registers.as_ref() else {
            return 0.0;
        };
        let m = HLL_REGISTERS as f64;
        let mut sum = 0.0;
        let mut zeros = 0u32;
        for &r in registers.iter() {
            sum += 1.0 / (1u64 << r) as f64;
            zeros += u32::from(r == 0);
        }
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let raw = alpha * m * m / sum;
        if raw <= 2.5 * m && zeros > 0 {
            m * (m / f64::from(zeros)).ln()
        } else {
            raw
        }
    }

    fn registers_mut(&mut self) -> &mut [u8; HLL_REGISTERS] {
        self.registers
            .get_or_insert_with(|| Box::new([0; HLL_REGISTERS]))
    }
}

/// The batch form of a sketch.
#[cfg(feature = "authoring")]
#[derive(serde::Serialize, serde::Deserialize)]
struct Wire {
    p: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sparse: Option<Vec<(u16, u8)>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dense: Option<String>,
}

/// Decimal digits of `n` (for sizing the sparse form).
fn digits(n: usize) -> usize {
    if n >= 1000 {
        4
    } else if n >= 100 {
        3
    } else if n >= 10 {
        2
    } else {
        1
    }
}

/// Whether the sparse form (`[index,rank],` per nonzero register) is shorter than
/// the dense one (4/3 of 1 024 bytes).
fn sparse_is_shorter(registers: &[u8; HLL_REGISTERS]) -> bool {
    let sparse_len: usize = registers
        .iter()
        .enumerate()
        .filter(|(_, &r)| r != 0)
        .map(|(i, &r)| digits(i) + digits(r as usize) + 4)
        .sum();
    sparse_len < HLL_REGISTERS.div_ceil(3) * 4
}

impl HyperLogLog {
    /// Appends the batch form (see the type's documentation) to JSON text.
    pub(crate) fn write_json(&self, out: &mut String) {
        out.push_str("{\"p\":10,");
        match &self.registers {
            Some(registers) if !sparse_is_shorter(registers) => {
                out.push_str("\"dense\":\"");
                out.push_str(&base64::encode(&registers[..]));
                out.push('"');
            }
            registers => {
                out.push_str("\"sparse\":[");
                let mut first = true;
                for (i, &r) in registers.iter().flat_map(|r| r.iter()).enumerate() {
                    if r == 0 {
                        continue;
                    }
                    if !first {
                        out.push(',');
                    }
                    first = false;
                    out.push('[');
                    crate::jsontext::push_u64(out, i as u64);
                    out.push(',');
                    crate::jsontext::push_u64(out, u64::from(r));
                    out.push(']');
                }
                out.push(']');
            }
        }
        out.push('}');
    }
}

#[cfg(feature = "authoring")]
impl From<HyperLogLog> for Wire {
    fn from(h: HyperLogLog) -> Wire {
        let mut wire = Wire {
            p: HLL_PRECISION,
            sparse: None,
            dense: None,
        };
        let Some(registers) = h.registers else {
            wire.sparse = Some(Vec::new());
            return wire;
        };
        if sparse_is_shorter(&registers) {
            wire.sparse = Some(
                registers
                    .iter()
                    .enumerate()
                    .filter(|(_, &r)| r != 0)
                    .map(|(i, &r)| (i as u16, r))
                    .collect(),
            );
        } else {
            wire.dense = Some(base64::encode(&registers[..]));
        }
        wire
    }
}

#[cfg(feature = "authoring")]
impl TryFrom<Wire> for HyperLogLog {
    type Error = String;

    fn try_from(wire: Wire) -> Result<HyperLogLog, String> {
        if wire.p != HLL_PRECISION {
            return Err(format!("unsupported HyperLogLog precision {}", wire.p));
        }
        let mut h = HyperLogLog::new();
        match (wire.sparse, wire.dense) {
            (Some(sparse), None) => {
                for (index, rank) in sparse {
                    if index as usize >= HLL_REGISTERS || rank > MAX_RANK {
                        return Err(format!("bad HyperLogLog register [{index}, {rank}]"));
                    }
                    let r = &mut h.registers_mut()[index as usize];
                    *r = (*r).max(rank);
                }
            }
            (None, Some(dense)) => {
                let bytes = base64::decode(dense.as_bytes())
                    .ok_or_else(|| "bad HyperLogLog registers: not base64".to_string())?;
                let registers: [u8; HLL_REGISTERS] = bytes
                    .try_into()
                    .map_err(|_| "HyperLogLog registers must be 1024 bytes".to_string())?;
                if registers.iter().any(|&r| r > MAX_RANK) {
                    return Err("HyperLogLog register out of range".into());
                }
                h.registers = Some(Box::new(registers));
            }
            _ => return Err("HyperLogLog needs exactly one of `sparse` or `dense`".into()),
        }
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::unit_hash;

    fn sketch(range: std::ops::Range<u32>) -> HyperLogLog {
        let mut h = HyperLogLog::new();
        for i in range {
            h.insert(unit_hash(&format!("user-{i}")));
        }
        h
    }

    fn assert_close(h: &HyperLogLog, n: f64, tolerance: f64) {
        let e = h.estimate();
        assert!(
            (e - n).abs() / n <= tolerance,
            "estimate {e} for {n} distinct (tolerance {tolerance})"
        );
    }

    #[test]
    fn empty_sketch_is_zero_and_unallocated() {
        let h = HyperLogLog::new();
        assert!(h.is_empty());
        assert_eq!(h.estimate(), 0.0);
        assert!(h.registers.is_none());
    }

    #[test]
    fn small_counts_are_nearly_exact() {
        for n in [1u32, 2, 5, 10, 50, 100] {
            let h = sketch(0..n);
            assert!(
                (h.estimate() - n as f64).abs() <= 1.0 + n as f64 * 0.02,
                "n={n} e={}",
                h.estimate()
            );
        }
        // Duplicates do not count.
        let mut h = sketch(0..10);
        h.merge(&sketch(0..10));
        assert!((h.estimate() - 10.0).abs() < 0.5);
    }

    #[test]
    fn large_counts_within_five_percent() {
        assert_close(&sketch(0..10_000), 10_000.0, 0.05);
        assert_close(&sketch(0..100_000), 100_000.0, 0.05);
        assert_close(&sketch(0..1_000_000), 1_000_000.0, 0.05);
    }

    #[test]
    fn merge_is_union() {
        let mut a = sketch(0..30_000);
        let b = sketch(20_000..50_000);
        a.merge(&b);
        assert_eq!(a, sketch(0..50_000));
        assert_close(&a, 50_000.0, 0.05);
        let mut empty = HyperLogLog::new();
        empty.merge(&HyperLogLog::new());
        assert!(empty.is_empty());
    }

    #[test]
    fn wire_round_trip_sparse_and_dense() {
        for n in [0u32, 3, 100, 5_000] {
            let h = sketch(0..n);
            let json = serde_json::to_string(&h).unwrap();
            if n <= 100 {
                assert!(json.contains("\"sparse\""), "{json}");
            } else {
                assert!(json.contains("\"dense\""), "{json}");
            }
            let back: HyperLogLog = serde_json::from_str(&json).unwrap();
            assert_eq!(back.estimate(), h.estimate());
            assert_eq!(back.is_empty(), h.is_empty());
        }
        for bad in [
            r#"{"p":12,"sparse":[]}"#,
            r#"{"p":10,"sparse":[[1024,1]]}"#,
            r#"{"p":10,"sparse":[[1,56]]}"#,
            r#"{"p":10,"dense":"AAAA"}"#,
            r#"{"p":10}"#,
        ] {
            assert!(serde_json::from_str::<HyperLogLog>(bad).is_err(), "{bad}");
        }
    }
}
