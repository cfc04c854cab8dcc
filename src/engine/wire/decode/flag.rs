//! Decoding a flag: variants, prerequisites, exclusion, access, rules and their
//! serves (rollouts with their units and bucket spaces).

use crate::engine::bucket::{coarseness, hash_prefix, total_fits};
use crate::engine::compiled::{
    ExclusionGroup, ExclusionRange, Flag, Prereq, Rollout, Rule, Serve, ValueType, Variant,
    VariantId, MAX_UNIT_ATTRIBUTES, MAX_VARIANTS,
};
use crate::engine::context::AttrId;
use crate::engine::hash::{salt_prefix, HashPrefix, BUCKETS};
use crate::engine::kinds::Bucketing;
use crate::engine::wire::{serve_tag, AUDITS, BUCKETINGS, VALUE_TYPES};
use crate::jsontext;

use super::Decoder;
pub use crate::engine::wire::reader::DecodeError;
use crate::engine::wire::reader::{check, invalid, malformed, Reader, Result};

impl Decoder<'_> {
    /// 1 to 8 unit attribute ids (each then hashed as a unit).
    pub(super) fn units(&mut self) -> Result<Box<[AttrId]>> {
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
    pub(super) fn total(&mut self, bucketing: Bucketing) -> Result<Option<u32>> {
        if !self.r.flag()? {
            return Ok(None);
        }
        let t = self.r.u32()?;
        check(total_fits(bucketing, t), "bad weight total")?;
        Ok(Some(t))
    }

    pub(super) fn serve(&mut self, variants: usize, is_fallthrough: bool) -> Result<Serve> {
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
    pub(super) fn flag(&mut self, groups: &[ExclusionGroup]) -> Result<Flag> {
        let key = self.r.str()?;
        let in_flag = |mut e: DecodeError| {
            e.flag = Some(key.into());
            e
        };
        self.flag_body(key, groups).map_err(in_flag)
    }

    pub(super) fn flag_body(&mut self, key: &str, groups: &[ExclusionGroup]) -> Result<Flag> {
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
