//! Native engine benchmarks (criterion): single-flag evaluation by flag shape,
//! evaluate-all over 1,000 flags, and snapshot verify + load for 1,000 and 10,000
//! flags. The flag shapes match `bench/flags.mjs`, used by the wasm benchmark.
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use ed25519_dalek::SigningKey;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use vexil::engine::Snapshot;
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
        let payload = document(n).to_string();
        let envelope = sign(payload.as_bytes(), "bench", &key)
            .to_json()
            .into_bytes();
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

criterion_group!(benches, evaluation, loading);
criterion_main!(benches);
