//! The editing module on a document with every kind of serve, names holding `/` and
//! `~`, and descriptive fields the model does not know.

use super::*;

fn flag() -> Value {
    json!({
        "key": "f", "owner": "ops", "clinical_impact": "low",
        "variants": { "off": false, "beta/v2": true, "beta~v2": true },
        "off_variant": "off",
        "rules": [{ "id": "r1", "when": { "attr": "plan", "op": "eq", "values": ["pro"] },
                    "serve": { "variant": "beta~v2" } }],
        "fallthrough": { "rollout": { "salt": "s", "by": "account.id", "missing_unit": "fallthrough",
                                      "weights": { "off": 75, "beta/v2": 25 } } },
    })
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

#[test]
fn the_treated_variant_is_the_first_other_than_off_or_the_one_asked_for() {
    let doc = flag();
    let f = FlagDoc(&doc);
    assert_eq!(f.treated_variant(None), Ok("beta/v2"));
    assert_eq!(f.treated_variant(Some("beta~v2")), Ok("beta~v2"));
    assert!(matches!(
        f.treated_variant(Some("off")),
        Err(EditError::NotTreatable { .. })
    ));
    let no_off =
        json!({ "key": "g", "variants": { "on": true }, "fallthrough": { "variant": "on" } });
    assert_eq!(
        FlagDoc(&no_off).treated_variant(None),
        Err(EditError::NoOffVariant { flag: "g".into() })
    );
    let only_off = json!({ "key": "h", "variants": { "off": false }, "off_variant": "off" });
    assert!(matches!(
        FlagDoc(&only_off).treated_variant(None),
        Err(EditError::NothingToTreat { .. })
    ));
}

#[test]
fn shares_are_found_by_name_whatever_the_name_holds() {
    let doc = flag();
    let f = FlagDoc(&doc);
    let fallthrough = f.serve(ServeAt::Fallthrough).unwrap();
    assert_eq!(fallthrough.share_of("beta/v2"), 25.0);
    assert_eq!(fallthrough.split(), vec![("off", 75.0), ("beta/v2", 25.0)]);
    assert_eq!(
        f.serve(ServeAt::Rule("r1")).unwrap().share_of("beta~v2"),
        100.0
    );
    assert!(matches!(
        f.serve(ServeAt::Rule("nope")),
        Err(EditError::NoRule { .. })
    ));
    assert_eq!(f.rollout_percentage(), Some(25.0));
    assert_eq!(f.settled_variant(), None);
    assert_eq!(f.rollout_units(), vec!["account.id".to_string()]);
}

#[test]
fn a_split_keeps_the_rollouts_unit_salt_missing_unit_and_order_and_every_other_field() {
    let mut doc = flag();
    let on = FlagEdit::new(&mut doc)
        .unwrap()
        .set_split(ServeAt::Fallthrough, None, percentage(1.001).unwrap())
        .unwrap();
    assert_eq!(on, "beta/v2");
    let rollout = &doc["fallthrough"]["rollout"];
    assert_eq!(keys(rollout), ["salt", "by", "missing_unit", "weights"]);
    assert_eq!(keys(&rollout["weights"]), ["off", "beta/v2"]);
    assert_eq!(
        rollout["weights"],
        json!({ "off": 98.999, "beta/v2": 1.001 })
    );
    assert_eq!(
        keys(&doc),
        [
            "key",
            "owner",
            "clinical_impact",
            "variants",
            "off_variant",
            "rules",
            "fallthrough"
        ]
    );
    // A fixed serve becomes a rollout, the treated variant first.
    FlagEdit::new(&mut doc)
        .unwrap()
        .set_split(ServeAt::Rule("r1"), Some("beta~v2"), 50_000)
        .unwrap();
    assert_eq!(
        doc["rules"][0]["serve"],
        json!({ "rollout": { "weights": { "beta~v2": 50, "off": 50 } } })
    );
}

#[test]
fn a_split_refuses_what_the_engine_would_refuse() {
    let mut doc = flag();
    let mut edit = FlagEdit::new(&mut doc).unwrap();
    assert_eq!(
        percentage(1.0001),
        Err(EditError::Percentage(
            "1.0001 has more than 3 decimals (the bucket scale is 0.001 %)".into()
        ))
    );
    assert!(matches!(
        edit.set_split(ServeAt::Rule("nope"), None, 5_000),
        Err(EditError::NoRule { .. })
    ));
    edit.serve_mut(ServeAt::Fallthrough)
        .unwrap()
        .set_split("beta/v2", "off", 10_000)
        .unwrap();
    assert!(matches!(
        edit.serve_mut(ServeAt::Fallthrough)
            .unwrap()
            .set_split("beta~v2", "off", 10_000),
        Err(EditError::ManyWayRollout(2))
    ));
    assert_eq!(doc, {
        let mut expected = flag();
        expected["fallthrough"] = json!({ "rollout": { "salt": "s", "by": "account.id", "missing_unit": "fallthrough", "weights": { "off": 90, "beta/v2": 10 } } });
        expected
    });
}

#[test]
fn fields_keep_their_place_when_set_and_removed() {
    let mut doc = json!({ "key": "f", "enabled": true, "prerequisites": [], "variants": {} });
    let mut edit = FlagEdit::new(&mut doc).unwrap();
    edit.set_enabled(false);
    edit.set_prerequisites(&[]);
    assert_eq!(keys(&doc), ["key", "enabled", "variants"]);
    assert!(!FlagDoc(&doc).enabled());
    assert_eq!(
        FlagEdit::new(&mut json!([])).unwrap_err(),
        EditError::NotAnObject
    );
}

/// A flag imported from Unleash: rule `r1` splits `pro` accounts between `on` and
/// `off` out of a `total` of 3 (`on` one of them, at the importer's cut), and a
/// context without an account gets the fallthrough (`legacy`).
fn imported(weights: Value) -> Value {
    json!({
        "key": "imp", "variants": { "on": true, "off": false, "legacy": false },
        "off_variant": "off",
        "rules": [{ "id": "r1", "when": { "attr": "plan", "op": "eq", "values": ["pro"] },
                    "serve": { "rollout": { "by": "account", "salt": "g", "bucketing": "unleash_variants",
                                            "total": 3, "missing_unit": "fallthrough",
                                            "weights": weights } } }],
        "fallthrough": { "variant": "legacy" },
    })
}

/// The variant (and reason) `doc` serves a `pro` context with `account` (or none).
fn served(doc: &Value, account: Option<&str>) -> (Option<String>, &'static str) {
    let flags: crate::engine::FlagsDocument =
        serde_json::from_value(json!({ "flags": [doc] })).unwrap();
    let snap = crate::engine::Snapshot::compile(&flags).expect("the edited flag compiles");
    let mut ctx = json!({ "targetingKey": "t", "plan": "pro" });
    if let Some(a) = account {
        ctx["account"] = json!(a);
    }
    let d = snap.details_for_context("imp", &ctx, json!(null), None, 0);
    (d.variant, d.reason.as_str())
}

#[test]
fn a_split_keeps_total_and_missing_unit_and_cuts_on_the_totals_scale() {
    let mut doc = imported(json!({ "on": 0.001, "off": 99.999 }));
    let before = doc.clone();
    let accounts: Vec<String> = (0..300).map(|i| format!("acct-{i}")).collect();
    let was_on: Vec<&String> = accounts
        .iter()
        .filter(|a| served(&before, Some(a)).0.as_deref() == Some("on"))
        .collect();
    assert!(
        (80..120).contains(&was_on.len()),
        "a third: {}",
        was_on.len()
    );

    // Two of the three positions: 66.667 % rounded, written as the exact cut.
    FlagEdit::new(&mut doc)
        .unwrap()
        .set_split(ServeAt::Rule("r1"), Some("on"), percentage(66.667).unwrap())
        .unwrap();
    let rollout = &doc["rules"][0]["serve"]["rollout"];
    assert_eq!(
        keys(rollout),
        [
            "by",
            "salt",
            "bucketing",
            "total",
            "missing_unit",
            "weights"
        ]
    );
    assert_eq!(rollout["total"], 3);
    assert_eq!(rollout["missing_unit"], "fallthrough");
    assert_eq!(rollout["weights"], json!({ "on": 66.666, "off": 33.334 }));
    for a in &was_on {
        assert_eq!(
            served(&doc, Some(a)).0.as_deref(),
            Some("on"),
            "{a} stays on"
        );
    }
    let now_on = accounts
        .iter()
        .filter(|a| served(&doc, Some(a)).0.as_deref() == Some("on"))
        .count();
    assert!((180..220).contains(&now_on), "two thirds: {now_on}");
    // Without an account: the fallthrough, as before, not the caller's default.
    assert_eq!(served(&before, None), (Some("legacy".into()), "DEFAULT"));
    assert_eq!(served(&doc, None), served(&before, None));

    // The share as read back is accepted again, and gives the same cut.
    let again = doc.clone();
    FlagEdit::new(&mut doc)
        .unwrap()
        .set_split(ServeAt::Rule("r1"), Some("on"), percentage(66.666).unwrap())
        .unwrap();
    assert_eq!(doc, again);
}

#[test]
fn off_first_on_a_total_the_off_variant_gets_the_rounded_down_cut() {
    let mut doc = imported(json!({ "off": 66.666, "on": 33.334 }));
    let before = doc.clone();
    FlagEdit::new(&mut doc)
        .unwrap()
        .set_split(ServeAt::Rule("r1"), Some("on"), percentage(66.667).unwrap())
        .unwrap();
    assert_eq!(
        doc["rules"][0]["serve"]["rollout"]["weights"],
        json!({ "off": 33.333, "on": 66.667 })
    );
    for a in (0..300).map(|i| format!("acct-{i}")) {
        if served(&before, Some(&a)).0.as_deref() == Some("on") {
            assert_eq!(
                served(&doc, Some(&a)).0.as_deref(),
                Some("on"),
                "{a} stays on"
            );
        }
    }
}

#[test]
fn a_percentage_between_a_rollouts_positions_is_refused_with_the_nearest() {
    let mut doc = imported(json!({ "on": 0.001, "off": 99.999 }));
    let err = FlagEdit::new(&mut doc)
        .unwrap()
        .set_split(ServeAt::Rule("r1"), Some("on"), percentage(50.0).unwrap())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "percentage 50 cannot be served exactly: this rollout places its units at 3 evenly \
         spaced positions (`unleash_variants` bucketing with `total` 3), so it serves whole \
         numbers of them; the nearest are 33.333 (1 of 3) and 66.667 (2 of 3)"
    );
    assert_eq!(doc, imported(json!({ "on": 0.001, "off": 99.999 })));

    // Unleash's gradual rollout places units in whole percentages.
    let mut doc = flag();
    doc["fallthrough"]["rollout"]["bucketing"] = json!("unleash");
    let mut edit = FlagEdit::new(&mut doc).unwrap();
    assert!(matches!(
        edit.set_split(ServeAt::Fallthrough, None, percentage(1.5).unwrap()),
        Err(EditError::Inexpressible {
            positions: 100,
            below_n: 1,
            above_n: 2,
            ..
        })
    ));
    edit.set_split(ServeAt::Fallthrough, None, percentage(2.0).unwrap())
        .unwrap();
    assert_eq!(
        doc["fallthrough"]["rollout"]["weights"],
        json!({ "off": 98, "beta/v2": 2 })
    );
}

/// A rollout over a `total` reports the share of units its weights serve, not the
/// weights as written: an import's `on: 0.001` over three positions is a third.
#[test]
fn a_total_scale_rollout_reports_the_share_its_units_get() {
    let doc = imported(json!({ "on": 0.001, "off": 99.999 }));
    let serve = FlagDoc(&doc).serve(ServeAt::Rule("r1")).unwrap();
    let third = 100.0 / 3.0;
    assert!(
        (serve.share_of("on") - third).abs() < 1e-9,
        "{}",
        serve.share_of("on")
    );
    assert!((serve.share_of("off") - 2.0 * third).abs() < 1e-9);
    // The share agrees with what evaluation serves.
    let on = (0..300)
        .filter(|i| served(&doc, Some(&format!("acct-{i}"))).0.as_deref() == Some("on"))
        .count();
    assert!((80..120).contains(&on), "{on} of 300");
    // Plain buckets: the weights are the shares.
    let mut plain = doc.clone();
    let rollout = plain["rules"][0]["serve"]["rollout"]
        .as_object_mut()
        .unwrap();
    rollout.remove("total");
    rollout.insert("bucketing".into(), json!("vexil"));
    rollout.insert("weights".into(), json!({ "on": 12.345, "off": 87.655 }));
    let serve = FlagDoc(&plain).serve(ServeAt::Rule("r1")).unwrap();
    assert_eq!(serve.share_of("on"), 12.345);
}
