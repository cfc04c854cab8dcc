//! Reading a payload (versions 2 and 3) into a [`Snapshot`], checking everything.

mod clause;
mod flag;

use crate::engine::clause::{ClauseEnv, SegmentId};
use crate::engine::compiled::{ExclusionGroup, FlagId, Snapshot, SnapshotMeta};
use crate::engine::context::{AttrId, AttrSpec, Needs, TARGETING_KEY};
use crate::engine::graph;
use crate::engine::wire::{MAGIC, OLDEST_READ};
use fnv::FnvHashMap;
use std::sync::Arc;

use crate::engine::wire::across::check_across_flags;
use crate::engine::wire::reader::{check, invalid, malformed, Reader, Result};
pub use crate::engine::wire::reader::{DecodeError, DecodeErrorKind};

/// The attribute table being rebuilt: ids come from the payload, needs and literal
/// dictionaries from the tests and rollouts that use them.
struct Env {
    attrs: Vec<AttrSpec>,
    /// The attribute the test being built reads (the decoder knows its id).
    current: AttrId,
}

impl ClauseEnv for Env {
    fn attr(&mut self, _path: &str, needs: Needs) -> AttrId {
        self.attrs[self.current as usize].needs |= needs;
        self.current
    }

    fn literal(&mut self, attr: AttrId, text: &str, folded: bool) -> u32 {
        let spec = &mut self.attrs[attr as usize];
        if folded {
            spec.folded.intern(text)
        } else {
            spec.literals.intern(text)
        }
    }

    fn segment(&self, _name: &str) -> Option<SegmentId> {
        None
    }

    fn flag_key(&self) -> Option<&str> {
        None
    }
}

struct Decoder<'a> {
    r: Reader<'a>,
    /// 2 or 3: how patterns are written.
    payload_version: u8,
    env: Env,
    segments: usize,
}

impl<'a> Decoder<'a> {
    fn attr_id(&mut self) -> Result<AttrId> {
        let id = self.r.u32()?;
        check((id as usize) < self.env.attrs.len(), "unknown attribute")?;
        Ok(id)
    }
}

fn unknown_format(what: &'static str) -> DecodeError {
    DecodeError {
        kind: DecodeErrorKind::UnknownFormat,
        what,
        flag: None,
    }
}

fn attr_path_ok(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with("$")
        && !crate::engine::split::fields(path, b'.').any(str::is_empty)
}

impl Snapshot {
    /// Decodes and checks a payload (version 3, or 2).
    pub fn decode(payload: &[u8]) -> Result<Snapshot> {
        let payload_version = match payload.get(..4) {
            Some(&[b'V', b'X', b'P', v]) if (OLDEST_READ..=MAGIC[3]).contains(&v) => v,
            Some(&[b'V', b'X', b'P', v]) if v > MAGIC[3] => {
                return Err(unknown_format(
                    "a newer payload version than this engine reads: upgrade it",
                ))
            }
            _ if payload.first() == Some(&b'{') => {
                return Err(unknown_format(
                    "a JSON payload (format 1); this engine reads format 2",
                ))
            }
            _ => return Err(unknown_format("unknown payload version")),
        };
        let mut r = Reader {
            bytes: payload,
            at: MAGIC.len(),
        };
        let environment = r.str()?;
        let version = r.uv()?;
        let issued_at_ms = r.option_sv()?;
        let expires_at_ms = r.option_sv()?;

        let n = r.count()?;
        let mut attrs: Vec<AttrSpec> = Vec::with_capacity(n);
        for i in 0..n {
            let path = r.str()?;
            check(attr_path_ok(path), "an attribute path is not valid")?;
            check(
                (i == 0) == (path == "targetingKey"),
                "targetingKey must be the first attribute, once",
            )?;
            check(
                attrs.iter().all(|a| *a.path != *path),
                "an attribute is listed twice",
            )?;
            attrs.push(AttrSpec::new(path));
        }
        check(!attrs.is_empty(), "the attribute table lacks targetingKey")?;
        attrs[TARGETING_KEY as usize].needs.unit = true;

        let segment_count = r.count()?;
        let mut d = Decoder {
            r,
            payload_version,
            env: Env { attrs, current: 0 },
            segments: segment_count,
        };
        let mut segment_names: Vec<Box<str>> = Vec::with_capacity(segment_count);
        let mut segments = Vec::with_capacity(segment_count);
        for _ in 0..segment_count {
            let name = d.r.str()?;
            check(
                !name.is_empty() && segment_names.iter().all(|s| **s != *name),
                "a segment name is empty or repeats",
            )?;
            segment_names.push(name.into());
            segments.push(d.cond(0)?);
        }
        let edges: Vec<Vec<u32>> = segments
            .iter()
            .map(|c| {
                let mut out = Vec::new();
                crate::engine::clause::segment_refs(c, &mut out);
                out
            })
            .collect();
        graph::check_segments(&edges)
            .map_err(|_| invalid("segments form a cycle or nest too deep"))?;

        let n = d.r.count()?;
        let mut groups: Vec<ExclusionGroup> = Vec::with_capacity(n);
        for _ in 0..n {
            let name = d.r.str()?;
            let salt = d.r.str()?;
            check(
                !name.is_empty() && groups.iter().all(|g| *g.name != *name),
                "an exclusion group name is empty or repeats",
            )?;
            groups.push(ExclusionGroup {
                name: name.into(),
                salt: salt.into(),
            });
        }

        let n = d.r.count()?;
        let mut flags = Vec::with_capacity(n);
        let mut index: FnvHashMap<Arc<str>, FlagId> = FnvHashMap::default();
        index.reserve(n);
        let mut digests = Vec::with_capacity(n);
        for i in 0..n {
            let start = d.r.at;
            let flag = d.flag(&groups)?;
            digests.push(definition_digest(&payload[start..d.r.at]));
            if index.insert(flag.key.clone(), i as FlagId).is_some() {
                return Err(DecodeError {
                    flag: Some((*flag.key).into()),
                    ..invalid("a flag key is defined more than once")
                });
            }
            flags.push(flag);
        }
        if d.r.left() != 0 {
            return Err(malformed("bytes after the last flag"));
        }
        check_across_flags(&flags)?;
        Ok(Snapshot {
            meta: SnapshotMeta {
                schema: u32::from(payload_version),
                environment: Some(environment.to_string()),
                version: Some(version),
                issued_at_ms,
                expires_at_ms,
            },
            flags: flags.into_boxed_slice(),
            index,
            segments: segments.into_boxed_slice(),
            segment_names: segment_names.into_boxed_slice(),
            exclusion_groups: groups.into_boxed_slice(),
            attrs: d.env.attrs.into_boxed_slice(),
            digests: digests.into_boxed_slice(),
        })
    }
}

/// A 64-bit digest of a flag's encoded definition, for telling a changed flag from an
/// unchanged one across snapshots in one process (never stored or sent). Eight bytes
/// per step: a byte-at-a-time hash over the whole payload was 3 % of a load.
fn definition_digest(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let step = |h: u64, word: u64| (h ^ word).wrapping_mul(K).rotate_left(29);
    let words = bytes.chunks_exact(8);
    // The last bytes make a word of their own, zero-padded (the length, hashed
    // first, tells the padding from zeros).
    let tail = words
        .remainder()
        .iter()
        .rev()
        .fold(0, |w, &b| w << 8 | u64::from(b));
    let mut h = words.fold(bytes.len() as u64, |h, w| {
        step(h, u64::from_le_bytes(w.try_into().unwrap_or_default()))
    });
    if bytes.len() % 8 != 0 {
        h = step(h, tail);
    }
    h ^= h >> 32;
    h.wrapping_mul(K) ^ (h >> 29)
}

#[cfg(test)]
mod digest_tests {
    use super::definition_digest;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn one_changed_byte_or_a_trailing_zero_changes_the_digest(
            bytes in prop::collection::vec(any::<u8>(), 0..200),
            at in any::<prop::sample::Index>(),
            flip in 1u8..,
        ) {
            let d = definition_digest(&bytes);
            if !bytes.is_empty() {
                let mut changed = bytes.clone();
                changed[at.index(bytes.len())] ^= flip;
                prop_assert_ne!(definition_digest(&changed), d);
            }
            let mut longer = bytes.clone();
            longer.push(0);
            prop_assert_ne!(definition_digest(&longer), d);
        }
    }
}
