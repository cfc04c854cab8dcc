//! Which metrics dimensions must never be counted for a flag: attributes the flag
//! declares private, and unit ids. Shared by the SDK's aggregator and the origin's
//! ingest, so both refuse the same dimensions.

use crate::engine::Snapshot;

/// The attribute every context's unit id lives in.
pub const TARGETING_KEY: &str = "targetingKey";

/// Whether private-attribute `pattern` covers attribute `path`: `patient` and
/// `patient.*` both cover `patient` and everything under it (`patient.population`).
pub fn covers(pattern: &str, path: &str) -> bool {
    let base = pattern.strip_suffix(".*").unwrap_or(pattern);
    path == base
        || path
            .strip_prefix(base)
            .is_some_and(|rest| rest.starts_with('.'))
}

/// The unit-id attributes of a compiled snapshot: `targetingKey` and every
/// attribute a rollout or an exclusion hashes as its unit (`by`).
pub fn unit_paths(snapshot: &Snapshot) -> Vec<&str> {
    let mut out = vec![TARGETING_KEY];
    for a in snapshot.attributes().iter().filter(|a| a.needs.unit) {
        if !out.contains(&&*a.path) {
            out.push(&a.path);
        }
    }
    out
}

/// Whether dimension `dimension` must be withheld for a flag declaring `private`
/// attributes, in a snapshot whose unit ids are `units`.
pub fn is_withheld<P: AsRef<str>, U: AsRef<str>>(
    dimension: &str,
    private: &[P],
    units: &[U],
) -> bool {
    units.iter().any(|u| covers(u.as_ref(), dimension))
        || private.iter().any(|p| covers(p.as_ref(), dimension))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_cover_the_attribute_and_what_is_under_it() {
        assert!(covers("patient", "patient"));
        assert!(covers("patient", "patient.population"));
        assert!(covers("patient.*", "patient.population"));
        assert!(covers("patient.*", "patient"));
        assert!(!covers("patient", "patients"));
        assert!(!covers("patient.mrn", "patient.population"));
        assert!(is_withheld(
            "targetingKey",
            &[] as &[&str],
            &["targetingKey"]
        ));
        assert!(is_withheld(
            "account.id",
            &["x"],
            &["targetingKey", "account.id"]
        ));
        assert!(!is_withheld("geo.country", &["patient"], &["targetingKey"]));
    }
}
