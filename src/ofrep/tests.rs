use super::*;

fn evaluation<'a>() -> Evaluation<'a> {
    Evaluation {
        key: "new-checkout",
        value: "true",
        variant: Some("on"),
        reason: Reason::TargetingMatch,
        rule_id: Some("beta"),
        metadata: r#"{"team":"web","ruleId":"stale"}"#,
        error: None,
    }
}

fn result(e: &Evaluation<'_>) -> String {
    let mut out = String::new();
    write_result(&mut out, e);
    out
}

#[test]
fn a_result_carries_value_reason_variant_and_the_rule_in_metadata() {
    assert_eq!(
        result(&evaluation()),
        r#"{"key":"new-checkout","value":true,"reason":"TARGETING_MATCH","variant":"on","metadata":{"team":"web","ruleId":"beta"}}"#
    );
    let plain = Evaluation {
        variant: None,
        rule_id: None,
        reason: Reason::Default,
        metadata: "{}",
        ..evaluation()
    };
    assert_eq!(
        result(&plain),
        r#"{"key":"new-checkout","value":true,"reason":"DEFAULT","metadata":{}}"#,
        "no variant: none written (not null)"
    );
    let odd = Evaluation {
        key: "quote\"d",
        metadata: "not json",
        ..evaluation()
    };
    assert!(
        result(&odd).ends_with(r#""metadata":{"ruleId":"beta"}}"#),
        "{}",
        result(&odd)
    );
    assert!(result(&odd).starts_with(r#"{"key":"quote\"d""#));
}

#[test]
fn an_error_carries_its_wire_code_and_details() {
    let e = Evaluation {
        error: Some((ErrorCode::TypeMismatch, "wrong `type`")),
        ..evaluation()
    };
    assert_eq!(
        result(&e),
        r#"{"key":"new-checkout","errorCode":"GENERAL","errorDetails":"wrong `type`","metadata":{"team":"web","ruleId":"stale"}}"#
    );
    let mut out = String::new();
    let not_ready = Evaluation {
        error: Some((ErrorCode::ProviderNotReady, "no snapshot")),
        ..evaluation()
    };
    assert_eq!(write_single(&mut out, &not_ready), 500);
    assert_eq!(out, r#"{"errorDetails":"no snapshot"}"#);
    for (code, status) in [
        (None, 200),
        (Some(ErrorCode::FlagNotFound), 404),
        (Some(ErrorCode::TargetingKeyMissing), 400),
        (Some(ErrorCode::InvalidContext), 400),
        (Some(ErrorCode::General), 500),
    ] {
        assert_eq!(super::status(code), status, "{code:?}");
    }
}

#[test]
fn a_bulk_answer_lists_results_and_names_version_and_environment() {
    let mut out = String::new();
    let mut bulk = Bulk::new(&mut out);
    bulk.push(&evaluation());
    bulk.push(&Evaluation {
        key: "b",
        error: Some((ErrorCode::TargetingKeyMissing, "no unit")),
        metadata: "{}",
        ..evaluation()
    });
    bulk.finish(7, "prod");
    let parsed: serde_json::Value = serde_json::from_str(&out).expect(&out);
    assert_eq!(parsed["flags"].as_array().map(Vec::len), Some(2));
    assert_eq!(parsed["flags"][1]["errorCode"], "TARGETING_KEY_MISSING");
    assert_eq!(
        parsed["metadata"],
        serde_json::json!({"version": "7", "environment": "prod"})
    );
    let mut empty = String::new();
    Bulk::new(&mut empty).finish(1, "e");
    assert_eq!(
        empty,
        r#"{"flags":[],"metadata":{"version":"1","environment":"e"}}"#
    );
}

#[test]
fn the_bucket_refills_at_the_configured_rate() {
    let mut limiter = RateLimiter::new(2.0, 3.0);
    for _ in 0..3 {
        assert!(limiter.take(1, 0).is_ok());
    }
    assert_eq!(limiter.take(1, 0), Err(1));
    assert!(limiter.take(2, 0).is_ok(), "keys have their own buckets");
    assert!(
        limiter.take(1, 500).is_ok(),
        "half a second brings one token at 2/s"
    );
    assert!(limiter.take(1, 500).is_err());
    let mut slow = RateLimiter::new(0.0, 0.0);
    assert!(slow.take("k", 0).is_ok(), "at least one request a second");
    assert_eq!(slow.take("k", 0), Err(1));
}

#[test]
fn unknown_keys_cannot_grow_the_limiter_without_bound() {
    let mut limiter = RateLimiter::new(10.0, 10.0);
    limiter.take(u64::MAX, 0).expect("a token");
    for key in 0..(3 * MAX_RATE_KEYS as u64) {
        let _ = limiter.take(key, 0);
    }
    assert!(limiter.buckets.len() <= MAX_RATE_KEYS);
    // Keys whose buckets filled up again are forgotten first; a busy one is kept.
    let mut busy = RateLimiter::new(1.0, 2.0);
    busy.take(u64::MAX, 0).expect("a token");
    busy.take(u64::MAX, 0).expect("its second token");
    for key in 0..(MAX_RATE_KEYS as u64 - 1) {
        busy.take(key, 0).expect("a first request");
    }
    busy.take(MAX_RATE_KEYS as u64, 1000)
        .expect("a new key, a second later");
    assert_eq!(busy.buckets.len(), 2, "the idle keys were forgotten");
    busy.take(u64::MAX, 1000).expect("one token came back");
    assert_eq!(
        busy.take(u64::MAX, 1000),
        Err(1),
        "and the busy key is still counted"
    );
}
