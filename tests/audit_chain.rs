//! The stored audit chain under any sequence of operations: arbitrary entries (floats
//! of every kind in their details: tiny, huge, many digits, negative zero, integers
//! as floats), flag changes, kills and real rollouts that advance and roll back on
//! measured latencies. Whatever happened, the stored chain verifies, its export (the
//! API's JSON, which `vexil audit verify FILE` reads) verifies, and editing any one
//! stored character of any entry is detected.
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::Arc;
use vexil::metrics::{Batch, BatchMeta, EventStats, FlagStats, OutcomeStats, VariantStats};
use vexil::origin::auth::{self, Principal};
use vexil::origin::{audit, changes, publish, rollouts, Op, Origin, OriginError};

const ENV: &str = "development";
const FLAG: &str = "new-search";

/// Floats as rollouts and reports produce them, and the awkward ones.
fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("JSON has no NaN or infinity", |f| f.is_finite()),
        -1e6..1e6f64,
        // Means and rates: ratios with many digits.
        (1u32..1_000_000, 1u32..100_000).prop_map(|(a, b)| f64::from(a) / f64::from(b)),
        any::<i32>().prop_map(f64::from),
        any::<i64>().prop_map(|i| i as f64),
        prop::sample::select(vec![
            0.0,
            -0.0,
            5e-324,
            f64::MIN_POSITIVE,
            1e-300,
            1e300,
            f64::MAX,
            -f64::MAX,
            20.10309278350515,
            0.1 + 0.2,
            1e21,
            123456789012345680.0,
        ]),
    ]
}

/// Latencies an edge measures (sums of these stay finite).
fn latency() -> impl Strategy<Value = f64> {
    prop_oneof![
        0.0..400.0f64,
        (1u32..1_000_000, 1u32..1000).prop_map(|(a, b)| f64::from(a) / f64::from(b)),
        (0u32..100_000).prop_map(f64::from),
        prop::sample::select(vec![-0.0, 0.0, 5e-324, 1e-300, 20.10309278350515, 1e7]),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z._]{0,12}",
        prop::collection::vec(any::<char>(), 0..10).prop_map(String::from_iter),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        float().prop_map(|f| json!(f)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((text(), inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// One thing that happens at the origin.
#[derive(Debug, Clone)]
enum Step {
    /// Any entry at all.
    Record {
        actor: String,
        action: String,
        subject: String,
        details: Value,
    },
    /// A flag update (`change.applied`).
    Describe(String),
    /// The kill switch, and back.
    Kill,
    Enable,
    /// A rollout stage: start one if none runs, report traffic with these latencies
    /// and failures, let the stage's time pass and run the scheduler (which advances,
    /// completes or rolls back, recording its figures).
    Rollout {
        latencies: Vec<f64>,
        failures: u64,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (text(), text(), text(), json_value()).prop_map(|(actor, action, subject, details)| Step::Record { actor, action, subject, details }),
        1 => text().prop_map(Step::Describe),
        1 => Just(Step::Kill),
        1 => Just(Step::Enable),
        4 => (prop::collection::vec(latency(), 1..40), 0u64..3)
            .prop_map(|(latencies, failures)| Step::Rollout { latencies, failures }),
    ]
}

/// A fresh origin with a controllable clock, a flag, and an editor.
struct Fixture {
    dir: PathBuf,
    origin: Origin,
    clock: Arc<AtomicI64>,
    editor: Principal,
    rollout: Option<i64>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn fixture() -> Fixture {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("vexil-audit-chain-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    vexil::origin::init(&dir, None).expect("init");
    let clock = Arc::new(AtomicI64::new(vexil::origin::system_now_ms()));
    let c = clock.clone();
    let origin = Origin::open(&dir, Arc::new(move || c.load(Ordering::SeqCst))).expect("open");
    let editor = origin
        .write(|op| {
            let made = auth::create_token(op, "eve", &["editor".to_string()])?;
            auth::authenticate(op.db, &made.token)
        })
        .expect("editor");
    let expiry =
        vexil::engine::time::format_rfc3339_ms(clock.load(Ordering::SeqCst) + 86_400_000 * 30);
    let flag = json!({
        "key": FLAG, "kind": "release", "risk": "low", "owner": "web", "expires_at": expiry,
        "enabled": true, "variants": { "on": true, "off": false }, "off_variant": "off",
        "fallthrough": { "variant": "off" }
    });
    origin
        .write(|op| {
            let p = changes::create(&publish::load_state(op.db, ENV)?, ENV, flag)?;
            changes::submit_and_publish(op, &editor, p)
        })
        .expect("create the flag");
    Fixture {
        dir,
        origin,
        clock,
        editor,
        rollout: None,
    }
}

/// What edges report for the treated variant: one outcome per latency.
fn traffic(end_ms: i64, latencies: &[f64], failures: u64) -> Batch {
    let mut b = Batch::new(BatchMeta {
        batch_id: format!("b-{end_ms}"),
        sdk: "test/1".into(),
        environment: ENV.into(),
        snapshot_version: None,
        window_start_ms: end_ms - 1000,
        window_end_ms: end_ms,
    });
    let outcomes = latencies.len() as u64;
    let failures = failures.min(outcomes);
    b.flags.insert(
        FLAG.into(),
        FlagStats {
            variants: [(
                "on".to_string(),
                VariantStats {
                    count: outcomes,
                    ..Default::default()
                },
            )]
            .into_iter()
            .collect(),
            ..Default::default()
        },
    );
    let mut o = OutcomeStats {
        count: outcomes,
        success: outcomes - failures,
        failure: failures,
        ..Default::default()
    };
    for &ms in latencies {
        o.latency.record(ms);
    }
    let mut e = EventStats {
        count: outcomes,
        ..Default::default()
    };
    e.attributions
        .insert(FLAG.into(), [("on".to_string(), o)].into_iter().collect());
    b.events.insert("request".into(), e);
    b
}

fn flag_change(
    f: &Fixture,
    make: impl FnOnce(&publish::EnvState) -> Result<changes::Proposal, OriginError>,
) {
    // Refusals (a flag already killed, say) are fine: they record nothing.
    let _ = f.origin.write(|op| {
        let p = make(&publish::load_state(op.db, ENV)?)?;
        changes::submit_and_publish(op, &f.editor, p)
    });
}

fn run(f: &mut Fixture, step: &Step) {
    match step {
        Step::Record {
            actor,
            action,
            subject,
            details,
        } => {
            f.origin
                .write(|op: &Op<'_>| audit::record(op, actor, action, subject, details.clone()))
                .expect("record");
        }
        Step::Describe(text) => flag_change(f, |state| {
            let mut doc = state.flags[FLAG].document.clone();
            doc["description"] = json!(text);
            changes::update(state, ENV, FLAG, doc)
        }),
        Step::Kill => flag_change(f, |state| changes::kill(state, ENV, FLAG)),
        Step::Enable => flag_change(f, |state| changes::enable(state, ENV, FLAG)),
        Step::Rollout {
            latencies,
            failures,
        } => {
            if f.rollout.is_none() {
                // Back to 0 % (a rollout can only start below its stages), then start.
                flag_change(f, |state| {
                    changes::rollout(state, ENV, FLAG, 0.0, None, None)
                });
                let plan: rollouts::Plan = serde_json::from_value(json!({
                    "stages": [1.5, 33.333, 100], "stage_duration": "1m", "min_samples": 1,
                    "max_latency_ms": 1e9, "max_error_rate": 10, "min_success_rate": 0
                }))
                .expect("plan");
                f.rollout = f
                    .origin
                    .write(|op| rollouts::start(op, &f.editor, ENV, FLAG, plan))
                    .ok()
                    .map(|r| r.id);
            }
            let end = f.clock.load(Ordering::SeqCst);
            let batch = traffic(end, latencies, *failures);
            f.origin
                .write(|op| {
                    let edge = vexil::origin::edge_metrics::Sender {
                        id: 0,
                        name: "edge".into(),
                        kind: "server".into(),
                    };
                    rollouts::observe(op, ENV, &batch, &edge)
                })
                .expect("observe");
            f.clock.fetch_add(61_000, Ordering::SeqCst);
            f.origin.write(rollouts::tick).expect("tick");
            if let Some(id) = f.rollout {
                let r = f
                    .origin
                    .read(|op| rollouts::get(op.db, id))
                    .expect("rollout");
                if !["running", "paused", "waiting_approval"].contains(&r.status.as_str()) {
                    f.rollout = None;
                }
            }
        }
    }
}

/// The chain as the API exports it (`GET /api/v1/audit`), read back as the CLI does.
fn exported(f: &Fixture) -> Vec<audit::Link> {
    let entries = f
        .origin
        .read(|op| {
            audit::list(
                op.db,
                &audit::Filter {
                    limit: Some(1000),
                    ..Default::default()
                },
            )
        })
        .expect("list");
    let text = json!({ "entries": entries }).to_string();
    let answer: Value = serde_json::from_str(&text).expect("JSON");
    serde_json::from_value(answer["entries"].clone()).expect("links")
}

const COLUMNS: [&str; 8] = [
    "seq",
    "at",
    "actor",
    "action",
    "subject",
    "details",
    "prev_hash",
    "hash",
];

/// Replaces one character of one column of entry `seq` with a different one.
fn tamper(db: &Path, seq: i64, column: &str, at: prop::sample::Index) -> String {
    let conn = rusqlite::Connection::open(db).expect("open the database");
    // As an attacker with the file would: the append-only trigger goes first.
    conn.execute_batch("DROP TRIGGER IF EXISTS audit_no_update")
        .expect("drop the trigger");
    if column == "seq" {
        conn.execute("UPDATE audit SET seq = seq + 1000000 WHERE seq = ?1", [seq])
            .expect("edit");
        return format!("seq {seq} → {}", seq + 1_000_000);
    }
    let old: String = conn
        .query_row(
            &format!("SELECT {column} FROM audit WHERE seq = ?1"),
            [seq],
            |r| r.get(0),
        )
        .expect("read");
    let mut chars: Vec<char> = old.chars().collect();
    if chars.is_empty() {
        chars.push('x');
    } else {
        let i = at.index(chars.len());
        chars[i] = match chars[i] {
            'x' => 'y',
            '0' => '1',
            c if c.is_ascii_digit() => '0',
            _ => 'x',
        };
    }
    let new: String = chars.into_iter().collect();
    conn.execute(
        &format!("UPDATE audit SET {column} = ?1 WHERE seq = ?2"),
        rusqlite::params![new, seq],
    )
    .expect("edit");
    format!("{column} of entry {seq}: {old:?} → {new:?}")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn every_chain_verifies_and_every_edit_is_found(
        steps in prop::collection::vec(step(), 1..24),
        row in any::<prop::sample::Index>(),
        column in prop::sample::select(COLUMNS.to_vec()),
        at in any::<prop::sample::Index>(),
    ) {
        let mut f = fixture();
        for s in &steps {
            run(&mut f, s);
        }
        let stored = vexil::origin::verify_data_dir(&f.dir, None);
        prop_assert!(stored.is_ok(), "the stored chain does not verify: {stored:?}");
        let entries = stored.unwrap();
        let links = exported(&f);
        prop_assert_eq!(links.len() as u64, entries);
        prop_assert_eq!(audit::verify(&links), Ok(entries));

        let seq = row.index(entries as usize) as i64 + 1;
        let edit = tamper(&f.dir.join(vexil::origin::store::DB_FILE), seq, column, at);
        match vexil::origin::verify_data_dir(&f.dir, None) {
            Err(OriginError::AuditBroken(_)) => {}
            other => prop_assert!(false, "{edit} went unnoticed: {other:?}"),
        }
    }
}

/// An ordinary rollout: its stage advances on measured latencies whose mean
/// (`2/13` ms, `0.15384615384615385`) the default JSON parser reads back one unit in
/// the last place off; the chain still verifies, stored and exported.
#[test]
fn a_rollout_that_advances_leaves_a_chain_that_verifies() {
    let mut f = fixture();
    let step = Step::Rollout {
        latencies: vec![2.0 / 13.0],
        failures: 0,
    };
    run(&mut f, &step);
    run(&mut f, &step);
    let links = exported(&f);
    let advanced = links
        .iter()
        .find(|l| l.entry.action == "rollout.advanced")
        .expect("the rollout advanced");
    assert_eq!(
        advanced.entry.details["figures"]["latency_mean_ms"],
        json!(0.15384615384615385),
        "{:?}",
        advanced.entry.details
    );
    let entries = vexil::origin::verify_data_dir(&f.dir, None).expect("the stored chain verifies");
    assert_eq!(audit::verify(&links), Ok(entries));
}
