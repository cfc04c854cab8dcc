//! The checks a payload needs across its flags, once every flag is decoded.

use super::reader::{check, invalid, DecodeError, Result};
use crate::engine::compiled::Flag;
use crate::engine::graph;

/// Checks what needs every flag: prerequisites point at real flags and variants and
/// form no cycle, and exclusion ranges of a group do not overlap.
pub(super) fn check_across_flags(flags: &[Flag]) -> Result<()> {
    let mut edges: Vec<Vec<u32>> = Vec::with_capacity(flags.len());
    for (i, flag) in flags.iter().enumerate() {
        let mut out = Vec::with_capacity(flag.prerequisites.len());
        for p in flag.prerequisites.iter() {
            let in_flag = |what| DecodeError {
                flag: Some((*flag.key).into()),
                ..invalid(what)
            };
            let target = flags
                .get(p.flag as usize)
                .filter(|_| p.flag as usize != i)
                .ok_or_else(|| in_flag("a prerequisite names an unknown flag or itself"))?;
            if p.variants
                .iter()
                .any(|&v| usize::from(v) >= target.variants.len())
            {
                return Err(in_flag("a prerequisite names an unknown variant"));
            }
            out.push(p.flag);
        }
        edges.push(out);
    }
    graph::check_prerequisites(&edges).map_err(|problem| {
        let node = match problem {
            graph::GraphProblem::Cycle(nodes) => nodes[0] as usize,
            graph::GraphProblem::TooDeep { node, .. }
            | graph::GraphProblem::TooManyEvaluations { node, .. } => node,
        };
        DecodeError {
            flag: flags.get(node).map(|f| (*f.key).into()),
            ..invalid("prerequisites form a cycle or exceed the limits")
        }
    })?;
    let mut ranges: Vec<(u32, u32, u32)> = flags
        .iter()
        .filter_map(|f| f.exclusion.as_ref().map(|e| (e.group, e.start, e.end)))
        .collect();
    crate::engine::sort::sort_by(&mut ranges, |a, b| a < b);
    for pair in ranges.windows(2) {
        check(
            pair[0].0 != pair[1].0 || pair[1].1 >= pair[0].2,
            "exclusion ranges of a group overlap",
        )?;
    }
    Ok(())
}
