//! The seed's `mutual_exclusions`, backed by exclusion groups.
//!
//! `"mutual_exclusions": ["b"]` on flag `a` says `a` and `b` are never on for the same
//! unit. The engine enforces that with an exclusion group: flags of one group own
//! disjoint ranges of its bucket space, so a unit falls in at most one of them. A
//! declared pair must therefore share a group; otherwise the declaration would be a
//! promise nothing keeps, so it is refused with how to keep it.
//!
//! The relation is symmetric: one side listing the other is enough (the origin changes
//! one flag at a time, so the second listing arrives in a later change); `vexil flags
//! validate` also asks for both sides in a file.

use super::Issues;
use crate::engine::model::FlagsDocument;
use std::collections::BTreeMap;

/// Refuses mutual exclusions that name the flag itself, or a flag that shares no
/// exclusion group with it.
pub(super) fn check_mutual_exclusions(doc: &FlagsDocument, issues: &mut Issues) {
    let group_of: BTreeMap<&str, Option<&str>> = doc
        .flags
        .iter()
        .map(|f| {
            (
                f.key.as_str(),
                f.exclusion.as_ref().map(|e| e.group.as_str()),
            )
        })
        .collect();
    for f in &doc.flags {
        for (i, other) in f.mutual_exclusions.iter().enumerate() {
            let path = || format!("flags[{}].mutual_exclusions[{i}]", f.key);
            if *other == f.key {
                issues.push(path(), "a flag cannot exclude itself");
                continue;
            }
            // A flag not created yet: the pair is checked when it is (the seed's
            // example creates one router before the other). Files are complete, so
            // `vexil flags validate` refuses an unknown name there.
            let Some(theirs) = group_of.get(other.as_str()) else {
                continue;
            };
            let mine = f.exclusion.as_ref().map(|e| e.group.as_str());
            if mine.is_none() || mine != *theirs {
                issues.push(
                    path(),
                    format!(
                        "`{}` and `{other}` exclude each other but share no exclusion group, so both could be on for one unit: \
                         give both an `exclusion` in one group with disjoint ranges, e.g. \
                         `\"exclusion\": {{\"group\": \"{group}\", \"range\": [0, 50000]}}` and `[50000, 100000]`",
                        f.key,
                        group = mine.or(*theirs).map_or_else(|| format!("{}-or-{other}", f.key), str::to_string),
                    ),
                );
            }
        }
    }
}
