//! Lifecycle insights for kill switches: a kill switch sits fully on or fully off
//! (killed) for as long as the code path it guards exists, so insights never advise
//! removing one, while an ordinary flag settled the same way is still reported.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use serde_json::{json, Value};
use support::*;

const FLAGS: &str = "/api/v1/environments/production/flags";
const DAY_MS: i64 = 86_400_000;

fn kill_switch(key: &str) -> Value {
    let mut flag = simple_flag(key);
    flag["kind"] = json!("kill_switch");
    flag["strategy"] = json!("kill_switch");
    flag.as_object_mut().unwrap().remove("expires_at");
    flag["fallthrough"] = json!({ "variant": "on" });
    flag
}

#[test]
fn a_killed_kill_switch_is_not_recommended_for_removal() {
    let (data, admin) = DataDir::init("insights-kill-switch");
    let mut clock = Clock::new(&data);
    let s = Server::start_with(&data, &[clock.var()]);
    let editor = s.token(&admin, "eve", &["editor"]);
    let sdk = s.sdk_key(&admin, "production");
    for flag in [kill_switch("payments-kill"), kill_switch("search-kill")] {
        s.post(FLAGS, &editor, json!({ "flag": flag })).expect(201);
    }
    s.post(FLAGS, &editor, json!({ "flag": simple_flag("old-banner") }))
        .expect(201);
    for key in ["payments-kill", "old-banner"] {
        s.post(
            &format!("{FLAGS}/{key}/kill"),
            &editor,
            json!({ "reason": "incident" }),
        )
        .expect(200);
    }

    // Forty days on, with edges reporting metrics (for another flag only).
    let later = 40 * DAY_MS;
    clock.set_offset(later);
    let mut batch = json!({
        "schema": vexil::metrics::BATCH_SCHEMA, "batch_id": "b1", "sdk": "test/1",
        "environment": "production", "window": { "start_ms": now_ms() + later - 1000, "end_ms": now_ms() + later },
        "flags": {}, "events": {}
    });
    batch["flags"]["other"] = json!({ "variants": { "on": { "count": 5 } } });
    s.post("/api/v1/metrics", &sdk, batch).expect(200);

    let insights = s
        .get("/api/v1/insights?environment=production", &editor)
        .expect(200)
        .json;
    let about = |key: &str| -> Vec<Value> {
        insights["insights"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["flag"] == key)
            .cloned()
            .collect()
    };
    // The ordinary flag, killed as long, is still reported as fully off.
    assert!(
        about("old-banner").iter().any(|i| i["kind"] == "fully_off"),
        "{insights}"
    );
    for key in ["payments-kill", "search-kill"] {
        let found = about(key);
        assert!(
            found.iter().all(|i| i["kind"] != "fully_off"
                && i["kind"] != "fully_rolled_out"
                && !i["recommendation"].as_str().unwrap().contains("remove")),
            "{key}: {found:?}"
        );
    }
}
