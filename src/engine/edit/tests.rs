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
fn a_split_keeps_the_rollouts_unit_salt_and_order_and_every_other_field() {
    let mut doc = flag();
    let on = FlagEdit::new(&mut doc)
        .unwrap()
        .set_split(ServeAt::Fallthrough, None, percentage(1.001).unwrap())
        .unwrap();
    assert_eq!(on, "beta/v2");
    let rollout = &doc["fallthrough"]["rollout"];
    assert_eq!(keys(rollout), ["salt", "by", "weights"]);
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
        expected["fallthrough"] = json!({ "rollout": { "salt": "s", "by": "account.id", "weights": { "off": 90, "beta/v2": 10 } } });
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
