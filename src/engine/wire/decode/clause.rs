//! Decoding clauses: boolean structure, segment references, bucket tests and
//! attribute tests with their values.

use crate::engine::bucket::{coarseness, hash_prefix, BucketCond};
use crate::engine::clause::{
    build_test, Cidr, Cond, EqValue, Family, TestValues, MAX_CLAUSE_DEPTH,
};
use crate::engine::hash::BUCKETS;
use crate::engine::kinds::Op;
use crate::engine::semver::Version;
use crate::engine::wire::{cond_tag, scalar_tag, test_bits, BUCKETINGS, OPS};

use super::Decoder;
use crate::engine::wire::reader::{check, invalid, malformed, Result};

impl Decoder<'_> {
    pub(super) fn cond(&mut self, depth: usize) -> Result<Cond> {
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

    pub(super) fn test(&mut self) -> Result<crate::engine::clause::Test> {
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
            String::from(&*self.env.attrs[id as usize].path)
        };
        build_test(&path, op, ignore_case, lenient, values, &mut self.env)
            .map_err(|_| invalid("an attribute test does not compile"))
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
