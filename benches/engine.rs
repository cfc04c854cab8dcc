//! Native engine benchmarks (criterion): single-flag evaluation by flag shape,
//! evaluate-all over 1,000 flags, and snapshot verify + load for 1,000 and 10,000
//! flags, over five flag shapes (static, an `in` rule, a segment with a rollout,
//! `all(in, semver)` with a split, a number comparison with `ends_with`).
//!
//! Group `workload` runs the side-by-side benchmark's workload (`bench/peers.mjs`:
//! the same CLI-built snapshots, contexts and random pairs, written by
//! `node bench/peers/native-workload.mjs`, which `make bench` runs first), so native
//! figures compare with the wasm ones row by row. It is skipped, with a note, when
//! those files are missing.
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use ed25519_dalek::SigningKey;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use vexil::engine::{FlagId, ResolvedContext, Snapshot};
use vexil::session::{Session, SessionConfig};
use vexil::snapshot::{sign, Keyring, StalePolicy, Store};

const NOW: i64 = 1_790_000_000_000;

fn flag(i: usize) -> Value {
    let key = format!("flag-{i}");
    match i % 5 {
        0 => {
            json!({"key": key, "variants": {"on": true, "off": false}, "off_variant": "off", "fallthrough": {"variant": "on"}})
        }
        1 => json!({"key": key, "variants": {"on": true, "off": false}, "off_variant": "off",
            "rules": [{"id": "tier", "when": {"attr": "user.tier", "op": "in", "values": ["gold", "platinum", "enterprise"]}, "serve": {"variant": "on"}}],
            "fallthrough": {"variant": "off"}}),
        2 => json!({"key": key, "variants": {"on": true, "off": false}, "off_variant": "off",
            "rules": [{"id": "beta", "when": {"segment": "beta-users"}, "serve": {"variant": "on"}}],
            "fallthrough": {"rollout": {"weights": {"on": 25, "off": 75}}}}),
        3 => {
            json!({"key": key, "variants": {"control": "control", "a": "variant-a", "b": "variant-b"}, "off_variant": "control",
            "rules": [{"id": "eu", "when": {"all": [
                {"attr": "geo.country", "op": "in", "values": ["DE", "FR", "NL", "IT", "ES"]},
                {"attr": "app.version", "op": "semver_gte", "values": ["2.0.0"]}]},
                "serve": {"rollout": {"weights": {"control": 34, "a": 33, "b": 33}}}}],
            "fallthrough": {"variant": "control"}})
        }
        _ => json!({"key": key, "variants": {"low": 10, "high": 100}, "off_variant": "low",
            "rules": [
                {"id": "big", "when": {"attr": "account.seats", "op": "gte", "values": [100]}, "serve": {"variant": "high"}},
                {"id": "mail", "when": {"attr": "user.email", "op": "ends_with", "values": ["@example.com"], "ignore_case": true}, "serve": {"variant": "high"}}],
            "fallthrough": {"variant": "low"}}),
    }
}

fn document(n: usize) -> Value {
    json!({
        "environment": "bench", "version": 1,
        "issued_at": "2026-09-21T00:00:00Z", "expires_at": "2026-09-23T00:00:00Z",
        "flags": (0..n).map(flag).collect::<Vec<_>>(),
        "segments": {"beta-users": {"attr": "user.groups", "op": "contains", "values": ["beta"]}},
    })
}

fn context() -> Value {
    json!({
        "targetingKey": "user-12345",
        "user": {"tier": "silver", "email": "Someone@Example.com", "groups": ["staff", "beta"]},
        "geo": {"country": "DE"}, "app": {"version": "2.3.1"}, "account": {"seats": 12},
    })
}

fn evaluation(c: &mut Criterion) {
    let snapshot = Snapshot::from_json(document(1000).to_string().as_bytes()).expect("valid");
    let ctx = snapshot.resolve_context(&context()).expect("object");
    let mut group = c.benchmark_group("evaluate");
    for (shape, key) in [
        ("static", "flag-0"),
        ("attribute rule", "flag-1"),
        ("segment + 25% rollout", "flag-2"),
        ("all(in, semver) + 3-way split", "flag-3"),
        ("number compare, ends_with", "flag-4"),
    ] {
        let id = snapshot.flag_id(key).expect("flag");
        group.bench_function(shape, |b| {
            b.iter(|| snapshot.evaluate(black_box(id), &ctx, NOW))
        });
    }
    group.bench_function("by key (hash lookup) + segment rollout", |b| {
        b.iter(|| snapshot.evaluate_key(black_box("flag-2"), &ctx, NOW))
    });
    group.bench_function("resolve context", |b| {
        let raw = context();
        b.iter(|| snapshot.resolve_context(black_box(&raw)))
    });
    group.finish();
    c.bench_function("evaluate_all 1000 flags", |b| {
        b.iter(|| {
            snapshot
                .evaluate_all(&ctx, NOW)
                .filter(|(_, o)| o.variant.is_some())
                .count()
        })
    });
}

fn loading(c: &mut Criterion) {
    let key = SigningKey::from_bytes(&[9u8; 32]);
    let mut keys = BTreeMap::new();
    use base64::Engine as _;
    keys.insert(
        "bench".to_string(),
        base64::engine::general_purpose::STANDARD.encode(key.verifying_key().as_bytes()),
    );
    let keyring = Keyring::from_base64_map(&keys).expect("keyring");
    let mut group = c.benchmark_group("verify + load");
    group.sample_size(20);
    for n in [1000usize, 10_000] {
        // Signed as the origin and the CLI sign: the compiled binary payload.
        let payload = Snapshot::from_json(document(n).to_string().as_bytes())
            .expect("valid")
            .encode("bench", 1);
        let envelope = sign(&payload, "bench", &key).to_json().into_bytes();
        group.bench_function(format!("{n} flags ({} KB)", envelope.len() / 1024), |b| {
            b.iter_batched(
                || {
                    Store::new(
                        keyring.clone(),
                        "bench".to_string(),
                        StalePolicy::ServeStale,
                    )
                },
                |mut store| store.load(black_box(&envelope), NOW).expect("loads"),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

/// `workload.json` of `bench/peers/native-workload.mjs`.
#[derive(Deserialize)]
struct WorkloadFile {
    flag_keys: Vec<String>,
    contexts: Vec<Value>,
    pairs: Pairs,
    requests: Pairs,
}

/// Parallel lists: pair `i` is (flag index `flag[i]`, context index `context[i]`).
#[derive(Deserialize)]
struct Pairs {
    flag: Vec<usize>,
    context: Vec<usize>,
}

/// Both pair lists have 2^16 entries.
const PAIR_MASK: usize = (1 << 16) - 1;

fn workload_dir() -> PathBuf {
    std::env::var_os("VEXIL_BENCH_WORKLOAD")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-workload"))
}

/// The workload's files, read.
struct Workload {
    keyring: Keyring,
    /// (flag count, signed envelope) for the 1,000- and 10,000-flag sets.
    envelopes: Vec<(usize, Vec<u8>)>,
    file: WorkloadFile,
}

fn read_workload() -> Result<Workload, String> {
    let dir = workload_dir();
    let read = |name: &str| {
        std::fs::read(dir.join(name)).map_err(|e| format!("{}: {e}", dir.join(name).display()))
    };
    let keys = String::from_utf8(read("keys.json")?).map_err(|e| e.to_string())?;
    let keyring = Keyring::from_json(&keys).map_err(|e| e.to_string())?;
    let envelopes = vec![
        (1000, read("flags-1000.snapshot.json")?),
        (10_000, read("flags-10000.snapshot.json")?),
    ];
    let file = serde_json::from_slice(&read("workload.json")?).map_err(|e| e.to_string())?;
    Ok(Workload {
        keyring,
        envelopes,
        file,
    })
}

fn workload(c: &mut Criterion) {
    let Workload {
        keyring,
        envelopes,
        file: w,
    } = match read_workload() {
        Ok(workload) => workload,
        Err(e) => {
            eprintln!("workload benchmarks skipped ({e}): run `node bench/peers/native-workload.mjs` (make bench does)");
            return;
        }
    };
    // The CLI signs snapshots fresh for 24 hours from now.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(NOW, |d| d.as_millis() as i64);
    let store_for = |keyring: &Keyring| {
        Store::new(
            keyring.clone(),
            "bench".to_string(),
            StalePolicy::ServeStale,
        )
    };
    let mut store = store_for(&keyring);
    store
        .load(&envelopes[0].1, now)
        .expect("the workload snapshot loads");
    let snapshot = store.snapshot().expect("loaded");
    let ids: Vec<FlagId> = w
        .flag_keys
        .iter()
        .map(|k| snapshot.flag_id(k).expect("flag"))
        .collect();
    let resolved: Vec<ResolvedContext> = w
        .contexts
        .iter()
        .map(|c| snapshot.resolve_context(c).expect("an object"))
        .collect();

    let mut group = c.benchmark_group("workload");
    group
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    group.bench_function("per request: resolve a new context, then 5 flags", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) & PAIR_MASK;
            let ctx = snapshot
                .resolve_context(black_box(&w.contexts[w.requests.context[i]]))
                .expect("an object");
            (0..5)
                .filter(|k| {
                    let flag = ids[w.requests.flag[(i * 5 + k) & PAIR_MASK]];
                    snapshot.evaluate(flag, &ctx, now).variant.is_some()
                })
                .count()
        })
    });
    for live in [1, 100, 10_000] {
        let plural = if live == 1 { "" } else { "s" };
        group.bench_function(format!("random pairs, {live} live context{plural}"), |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) & PAIR_MASK;
                let ctx = &resolved[w.pairs.context[i] % live];
                snapshot.evaluate(black_box(ids[w.pairs.flag[i]]), ctx, now)
            })
        });
    }
    group.bench_function("evaluate_all 1,000 flags, one context", |b| {
        b.iter(|| {
            snapshot
                .evaluate_all(black_box(&resolved[0]), now)
                .filter(|(_, o)| o.variant.is_some())
                .count()
        })
    });
    // The session the wasm module binds, with metrics on as users run it (and off):
    // slots filled beforehand, each evaluation counted, what the module does minus
    // the crossing from JS.
    for metrics in [true, false] {
        let mut session = Session::new(SessionConfig {
            environment: "bench".into(),
            keyring: keyring.clone(),
            stale_policy: StalePolicy::ServeStale,
            dimensions: Vec::new(),
            audit_key: b"bench".to_vec(),
            metrics,
        });
        session.load(&envelopes[0].1, now).expect("loads");
        let slots: Vec<u32> = w
            .contexts
            .iter()
            .map(|c| {
                let slot = session.open();
                session.fill_json(slot, c).expect("an object");
                slot
            })
            .collect();
        let on = if metrics { "on" } else { "off" };
        for live in [1, 10_000] {
            group.bench_function(
                format!("session, metrics {on}: random pairs, {live} live"),
                |b| {
                    let mut i = 0;
                    b.iter(|| {
                        i = (i + 1) & PAIR_MASK;
                        let slot = slots[w.pairs.context[i] % live];
                        session.evaluate(black_box(w.pairs.flag[i] as u32), slot, now)
                    })
                },
            );
        }
        let mut out = Vec::new();
        group.bench_function(
            format!("session, metrics {on}: evaluate_all 1,000 flags, one context"),
            |b| {
                b.iter(|| {
                    out.clear();
                    session.evaluate_all(black_box(slots[0]), now, &mut out);
                    out.len()
                })
            },
        );
    }
    group.sample_size(20);
    for (n, envelope) in &envelopes {
        group.bench_function(format!("verify + load {n} flags"), |b| {
            b.iter_batched(
                || store_for(&keyring),
                |mut store| store.load(black_box(envelope), now).expect("loads"),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, evaluation, loading, workload);
criterion_main!(benches);
