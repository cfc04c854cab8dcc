//! The MiFID II freeze over a flag's venues, and the `venues` field it reads.

use super::{frozen_until, Venue};
use crate::origin::governance::{Assessment, GovernanceConfig, FREEZE_POLICY};
use serde_json::Value;

/// The policy that checks a flag's `venues`.
pub const VENUES_POLICY: &str = "trading-venues";

/// The flag field listing the venues a flag trades on.
pub const VENUES_FIELD: &str = "venues";

/// The legacy `[governance.trading_hours]` as a UTC venue, if set: with
/// `[[governance.venues]]`, the configured venues.
pub fn legacy(config: &GovernanceConfig) -> Option<Venue> {
    config.trading_hours.as_ref().map(|h| h.venue())
}

/// What is wrong with a flag's `venues`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VenuesError {
    /// Not a list of names.
    #[error("`venues` is a list of venue names, not {0}")]
    NotNames(String),
    /// A name listed twice.
    #[error("`venues` lists `{0}` twice")]
    Twice(String),
    /// A name no venue has.
    #[error("`venues` names unknown venue `{name}`; {known}")]
    Unknown {
        /// The name.
        name: String,
        /// The configured venues, as a sentence.
        known: String,
    },
}

fn known(all: &[&Venue]) -> String {
    if all.is_empty() {
        "no venues are configured (`[[governance.venues]]` in vexil.toml)".into()
    } else {
        let names: Vec<&str> = all.iter().map(|v| v.name.as_str()).collect();
        format!("the known venues are {}", names.join(", "))
    }
}

/// The venues `flag` trades on: those its `venues` lists, or every configured venue
/// when it lists none.
pub fn flag_venues<'a>(flag: &Value, all: &[&'a Venue]) -> Result<Vec<&'a Venue>, VenuesError> {
    let Some(value) = flag.get(VENUES_FIELD).filter(|v| !v.is_null()) else {
        return Ok(all.to_vec());
    };
    let items = value
        .as_array()
        .ok_or_else(|| VenuesError::NotNames(value.to_string()))?;
    let mut out: Vec<&Venue> = Vec::with_capacity(items.len());
    for item in items {
        let name = item
            .as_str()
            .ok_or_else(|| VenuesError::NotNames(value.to_string()))?;
        let venue = *all
            .iter()
            .find(|v| v.name == name)
            .ok_or_else(|| VenuesError::Unknown {
                name: name.into(),
                known: known(all),
            })?;
        if out.iter().any(|v| v.name == name) {
            return Err(VenuesError::Twice(name.into()));
        }
        out.push(venue);
    }
    if out.is_empty() {
        return Ok(all.to_vec());
    }
    Ok(out)
}

/// Checks `venues` (whenever present) and, for a MiFID II flag, freezes it while any
/// of its venues is in session, saying when they all close.
pub(in crate::origin::governance) fn check(
    flag: &Value,
    key: &str,
    mifid: bool,
    now_ms: i64,
    config: &GovernanceConfig,
    out: &mut Assessment,
) {
    let legacy = legacy(config);
    let all: Vec<&Venue> = config.venues.iter().chain(legacy.as_ref()).collect();
    let venues = match flag_venues(flag, &all) {
        Ok(venues) => venues,
        Err(e) => {
            out.violate(VENUES_POLICY, e.to_string());
            all.clone()
        }
    };
    if !mifid {
        return;
    }
    let Some(until) = frozen_until(&venues, now_ms) else {
        return;
    };
    let open: Vec<String> = venues
        .iter()
        .filter(|v| v.in_session(now_ms).is_some())
        .map(|v| v.describe())
        .collect();
    out.violate(
        FREEZE_POLICY,
        format!(
            "MiFID II flags are frozen while their venues trade ({}); only the kill switch may change `{key}` now; its changes can apply at {}, when its venues are all closed",
            open.join("; "),
            crate::engine::time::format_rfc3339_ms(until)
        ),
    );
    out.frozen_until_ms = Some(out.frozen_until_ms.map_or(until, |u| u.max(until)));
}
