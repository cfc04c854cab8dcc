//! Reading a payload (versions 2 and 3) into a [`Snapshot`], checking everything.

use super::{
    cond_tag, scalar_tag, serve_tag, test_bits, AUDITS, BUCKETINGS, MAGIC, OLDEST_READ, OPS,
    VALUE_TYPES,
};
use crate::engine::bucket::{coarseness, hash_prefix, total_fits, BucketCond};
use crate::engine::clause::{
    build_test, Cidr, ClauseEnv, Cond, EqValue, Family, SegmentId, TestValues, MAX_CLAUSE_DEPTH,
};
use crate::engine::compiled::{
    ExclusionGroup, ExclusionRange, Flag, FlagId, Prereq, Rollout, Rule, Serve, Snapshot,
    SnapshotMeta, ValueType, Variant, VariantId, MAX_UNIT_ATTRIBUTES, MAX_VARIANTS,
};
use crate::engine::context::{AttrId, AttrSpec, Needs, TARGETING_KEY};
use crate::engine::graph;
use crate::engine::hash::{salt_prefix, HashPrefix, BUCKETS};
use crate::engine::kinds::{Bucketing, Op};
use crate::engine::semver::Version;
use crate::jsontext;
use fnv::FnvHashMap;

use super::across::check_across_flags;
use super::reader::{check, invalid, malformed, Reader, Result};
pub use super::reader::{DecodeError, DecodeErrorKind};

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

    fn cond(&mut self, depth: usize) -> Result<Cond> {
        check(depth <= MAX_CLAUSE_DEPTH, "clauses nest too deep")?;
        Ok(match self.r.u8()? {
            cond_tag::ALL | cond_tag::ANY => {
                let tag = self.r.bytes[self.r.at - 1];
                let n = self.r.count()?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.cond(depth + 1)?);
                }
                if tag == cond_tag::ALL {
                    Cond::All(items.into_boxed_slice())
                } else {
                    Cond::Any(items.into_boxed_slice())
                }
            }
            cond_tag::NOT => Cond::Not(Box::new(self.cond(depth + 1)?)),
            cond_tag::SEGMENT => {
                let id = self.r.u32()?;
                check((id as usize) < self.segments, "unknown segment")?;
                Cond::Segment(id)
            }
            cond_tag::TEST => Cond::Test(self.test()?),
            cond_tag::BUCKET => {
                let bucketing = *BUCKETINGS
                    .get(usize::from(self.r.u8()?))
                    .ok_or(malformed("unknown bucketing"))?;
                let prefix = hash_prefix(bucketing, self.r.bytes()?.into());
                let units = self.units()?;
                let total = self.total(bucketing)?;
                let from = self.r.u32()?;
                let to = self.r.u32()?;
                check(from < to && to <= BUCKETS, "bad bucket range")?;
                if let (None, Some((step, _))) = (total, coarseness(bucketing)) {
                    check(
                        from % step == 0 && to % step == 0,
                        "bucket range off the scheme's scale",
                    )?;
                }
                Cond::Bucket(BucketCond {
                    units,
                    prefix,
                    bucketing,
                    total,
                    from,
                    to,
                })
            }
            _ => return Err(malformed("unknown clause tag")),
        })
    }

    fn test(&mut self) -> Result<crate::engine::clause::Test> {
        // 0 is `$now`; attribute ids are shifted by one.
        let attr = self.r.u32()?;
        let op = *OPS
            .get(usize::from(self.r.u8()?))
            .ok_or(malformed("unknown operator"))?;
        let bits = self.r.u8()?;
        check(
            bits & !(test_bits::IGNORE_CASE | test_bits::LENIENT) == 0,
            "unknown test options",
        )?;
        let (ignore_case, lenient) = (
            bits & test_bits::IGNORE_CASE != 0,
            bits & test_bits::LENIENT != 0,
        );
        let values = match op.family() {
            Family::Scalars => {
                let n = self.r.count()?;
                let mut out = Vec::with_capacity(n);
                for _ in 0..n {
                    out.push(match self.r.u8()? {
                        scalar_tag::STRING => EqValue::Str(self.r.str()?),
                        scalar_tag::NUMBER => EqValue::Num(self.r.f64()?),
                        scalar_tag::FALSE => EqValue::Bool(false),
                        scalar_tag::TRUE => EqValue::Bool(true),
                        _ => return Err(malformed("unknown value tag")),
                    });
                }
                TestValues::Scalars(out)
            }
            Family::Strings if op == Op::Matches => {
                let n = self.r.count()?;
                let mut out = Vec::with_capacity(n);
                for _ in 0..n {
                    let pattern = self.r.str()?;
                    let dfa = if self.payload_version >= 3 {
                        self.r.dfa()?
                    } else {
                        source_pattern(pattern, ignore_case)?
                    };
                    out.push((pattern, dfa));
                }
                TestValues::Patterns(out)
            }
            Family::Strings => {
                let n = self.r.count()?;
                let mut out = Vec::with_capacity(n);
                for _ in 0..n {
                    out.push(self.r.str()?);
                }
                TestValues::Strings(out)
            }
            Family::Numbers => {
                let n = self.r.count()?;
                let mut out = Vec::with_capacity(n);
                for _ in 0..n {
                    out.push(self.r.f64()?);
                }
                TestValues::Numbers(out)
            }
            Family::Versions => {
                let n = self.r.count()?;
                let mut out = Vec::with_capacity(n);
                for _ in 0..n {
                    out.push(Version::parse(self.r.str()?).ok_or(invalid("bad version"))?);
                }
                TestValues::Versions(out)
            }
            Family::Times => {
                let n = self.r.count()?;
                let mut out = Vec::with_capacity(n);
                for _ in 0..n {
                    out.push(self.r.sv()?);
                }
                TestValues::Times(out)
            }
            Family::Cidrs => {
                let n = self.r.count()?;
                let mut out = Vec::with_capacity(n);
                for _ in 0..n {
                    let mut network = [0u8; 16];
                    network.copy_from_slice(self.r.take(16)?);
                    let bits = u32::from(self.r.u8()?);
                    out.push(
                        Cidr::from_parts(u128::from_be_bytes(network), bits)
                            .ok_or(invalid("bad address range"))?,
                    );
                }
                TestValues::Cidrs(out)
            }
            Family::None => TestValues::None,
        };
        let path = if attr == 0 {
            "$now".to_string()
        } else {
            let id = attr - 1;
            check((id as usize) < self.env.attrs.len(), "unknown attribute")?;
            self.env.current = id;
            self.env.attrs[id as usize].path.to_string()
        };
        build_test(&path, op, ignore_case, lenient, values, &mut self.env)
            .map_err(|_| invalid("an attribute test does not compile"))
    }

    /// 1 to 8 unit attribute ids (each then hashed as a unit).
    fn units(&mut self) -> Result<Box<[AttrId]>> {
        let n = self.r.count()?;
        check(
            (1..=MAX_UNIT_ATTRIBUTES).contains(&n),
            "a rollout needs 1 to 8 unit attributes",
        )?;
        let mut units = Vec::with_capacity(n);
        for _ in 0..n {
            let id = self.attr_id()?;
            self.env.attrs[id as usize].needs.unit = true;
            units.push(id);
        }
        Ok(units.into_boxed_slice())
    }

    /// A written weight total, if any, that `bucketing` can take.
    fn total(&mut self, bucketing: Bucketing) -> Result<Option<u32>> {
        if !self.r.flag()? {
            return Ok(None);
        }
        let t = self.r.u32()?;
        check(total_fits(bucketing, t), "bad weight total")?;
        Ok(Some(t))
    }

    fn serve(&mut self, variants: usize, is_fallthrough: bool) -> Result<Serve> {
        let variant = |r: &mut Reader<'_>| -> Result<VariantId> {
            let v = r.u32()?;
            check((v as usize) < variants, "unknown variant")?;
            Ok(v as VariantId)
        };
        Ok(match self.r.u8()? {
            serve_tag::FIXED => Serve::Fixed(variant(&mut self.r)?),
            serve_tag::ROLLOUT => {
                let bucketing = *BUCKETINGS
                    .get(usize::from(self.r.u8()?))
                    .ok_or(malformed("unknown bucketing"))?;
                let prefix = hash_prefix(bucketing, self.r.bytes()?.into());
                let units = self.units()?;
                let n = self.r.count()?;
                check(n > 0, "a rollout needs weights")?;
                let mut cuts = Vec::with_capacity(n);
                let mut last = 0;
                for _ in 0..n {
                    let upper = self.r.u32()?;
                    check(
                        upper >= last && upper <= BUCKETS,
                        "rollout weights out of order or off the bucket scale",
                    )?;
                    last = upper;
                    cuts.push((upper, variant(&mut self.r)?));
                }
                check(last == BUCKETS, "rollout weights do not sum to 100")?;
                let falls_through = self.r.flag()?;
                check(
                    !(falls_through && is_fallthrough),
                    "a fallthrough rollout cannot fall through",
                )?;
                let total = self.total(bucketing)?;
                // With a written total, cuts are a source system's exact thresholds.
                if let (None, Some((step, _))) = (total, coarseness(bucketing)) {
                    check(
                        cuts.iter().all(|(upper, _)| upper % step == 0),
                        "rollout weights off the scheme's scale",
                    )?;
                }
                Serve::Rollout(Rollout {
                    units,
                    prefix,
                    cuts: cuts.into_boxed_slice(),
                    bucketing,
                    falls_through,
                    total,
                })
            }
            serve_tag::CALLER_DEFAULT => Serve::CallerDefault,
            _ => return Err(malformed("unknown serve tag")),
        })
    }

    /// One flag; prerequisites are checked once every flag is read.
    fn flag(&mut self, groups: &[ExclusionGroup]) -> Result<Flag> {
        let key = self.r.str()?;
        let in_flag = |mut e: DecodeError| {
            e.flag = Some(key.into());
            e
        };
        self.flag_body(key, groups).map_err(in_flag)
    }

    fn flag_body(&mut self, key: &str, groups: &[ExclusionGroup]) -> Result<Flag> {
        check(!key.is_empty(), "a flag key is empty")?;
        let value_type = *VALUE_TYPES
            .get(usize::from(self.r.u8()?))
            .ok_or(malformed("unknown value type"))?;
        let n = self.r.count()?;
        check(
            n > 0 && n <= MAX_VARIANTS,
            "a flag needs 1 to 1024 variants",
        )?;
        let mut variants: Vec<Variant> = Vec::with_capacity(n);
        for _ in 0..n {
            let name = self.r.str()?;
            let value = self.r.str()?;
            check(!name.is_empty(), "a variant name is empty")?;
            check(
                variants.last().is_none_or(|v| *v.name < *name),
                "variants are not sorted by name, or repeat",
            )?;
            let kind = jsontext::validate(value).ok_or(invalid("a variant value is not JSON"))?;
            check(
                ValueType::of_json(kind) == Some(value_type),
                "a variant value is not of the flag's type",
            )?;
            variants.push(Variant {
                name: name.into(),
                value: value.into(),
            });
        }
        // 0: none (the caller's default); else the variant id plus one.
        let off_variant = match self.r.u32()? {
            0 => None,
            v => {
                check(((v - 1) as usize) < n, "unknown off variant")?;
                Some((v - 1) as VariantId)
            }
        };
        let bits = self.r.u8()?;
        check(bits >> 3 == 0, "unknown flag bits")?;
        let audit_evaluations = *AUDITS
            .get(usize::from(bits >> 1))
            .ok_or(malformed("unknown audit policy"))?;
        let private_count = self.r.count()?;
        let mut private_attributes = Vec::with_capacity(private_count);
        for _ in 0..private_count {
            private_attributes.push(self.r.str()?.into());
        }
        let metadata = self.r.str()?;
        check(
            jsontext::validate(metadata) == Some(jsontext::Kind::Object),
            "metadata is not a JSON object",
        )?;
        let n = self.r.count()?;
        let mut prerequisites = Vec::with_capacity(n);
        for _ in 0..n {
            let flag = self.r.u32()?;
            let count = self.r.count()?;
            check(count > 0, "a prerequisite lists no variants")?;
            let mut ids = Vec::with_capacity(count);
            for _ in 0..count {
                ids.push(
                    VariantId::try_from(self.r.u32()?).map_err(|_| invalid("unknown variant"))?,
                );
            }
            prerequisites.push(Prereq {
                flag,
                variants: ids.into_boxed_slice(),
            });
        }
        let exclusion = if self.r.flag()? {
            let group = self.r.u32()?;
            let start = self.r.u32()?;
            let end = self.r.u32()?;
            let g = groups
                .get(group as usize)
                .ok_or(invalid("unknown exclusion group"))?;
            check(start < end && end <= BUCKETS, "bad exclusion range")?;
            Some(ExclusionRange {
                group,
                prefix: HashPrefix::new(salt_prefix(&g.salt), 0),
                start,
                end,
            })
        } else {
            None
        };
        let access = if self.r.flag()? {
            Some(self.cond(0)?)
        } else {
            None
        };
        let n = self.r.count()?;
        let mut rules: Vec<Rule> = Vec::with_capacity(n);
        for _ in 0..n {
            let id = self.r.str()?;
            check(!id.is_empty(), "a rule id is empty")?;
            check(
                rules.iter().all(|r| *r.id != *id),
                "a rule id is used twice",
            )?;
            let when = self.cond(0)?;
            let serve = self.serve(variants.len(), false)?;
            rules.push(Rule {
                id: id.into(),
                when,
                serve,
            });
        }
        let fallthrough = self.serve(variants.len(), true)?;
        Ok(Flag {
            key: key.into(),
            value_type,
            variants: variants.into_boxed_slice(),
            off_variant,
            enabled: bits & 1 == 1,
            audit_evaluations,
            private_attributes: private_attributes.into_boxed_slice(),
            metadata: metadata.into(),
            prerequisites: prerequisites.into_boxed_slice(),
            exclusion,
            access,
            rules: rules.into_boxed_slice(),
            fallthrough,
        })
    }
}

fn unknown_format(what: &'static str) -> DecodeError {
    DecodeError {
        kind: DecodeErrorKind::UnknownFormat,
        what,
        flag: None,
    }
}

/// A version-2 pattern, written as source only: compiled where the engine can
/// (built for authoring), refused by the wasm module, which runs only automata.
#[cfg(feature = "authoring")]
fn source_pattern(pattern: &str, ignore_case: bool) -> Result<crate::engine::dfa::Dfa> {
    crate::engine::dfa_build::build(pattern, ignore_case)
        .map_err(|_| invalid("a pattern does not compile"))
}

#[cfg(not(feature = "authoring"))]
fn source_pattern(_pattern: &str, _ignore_case: bool) -> Result<crate::engine::dfa::Dfa> {
    Err(invalid(
        "a pattern from payload version 2, which edges cannot compile: re-sign the snapshot with a current origin",
    ))
}

fn attr_path_ok(path: &str) -> bool {
    !path.is_empty() && !path.starts_with('$') && !path.split('.').any(str::is_empty)
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
        let mut index: FnvHashMap<Box<str>, FlagId> = FnvHashMap::default();
        index.reserve(n);
        let mut digests = Vec::with_capacity(n);
        for i in 0..n {
            let start = d.r.at;
            let flag = d.flag(&groups)?;
            let mut hasher = fnv::FnvHasher::default();
            std::hash::Hasher::write(&mut hasher, &payload[start..d.r.at]);
            digests.push(std::hash::Hasher::finish(&hasher));
            if index.insert(flag.key.clone(), i as FlagId).is_some() {
                return Err(DecodeError {
                    flag: Some(flag.key),
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
