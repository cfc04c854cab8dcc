//! The outbox's guarantees: events commit with their change, survive a crash until
//! consumed, are consumed once per consumer, and a new consumer sees every type.

use super::*;
use crate::origin::api::{SystemDown, SystemUp};
use crate::origin::auth::Principal;
use crate::origin::{changes, init, keys, publish, webhooks, Origin};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

const ENV: &str = "development";

fn open(dir: &Path) -> Origin {
    Origin::open(dir, Arc::new(crate::origin::system_now_ms)).unwrap()
}

fn fresh() -> (tempfile::TempDir, Origin) {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path(), None).unwrap();
    let origin = open(dir.path());
    origin
        .write(|op| webhooks::add(op, ENV, "http://127.0.0.1:9/hook", None, Vec::new()))
        .unwrap();
    (dir, origin)
}

fn admin() -> Principal {
    Principal {
        id: 0,
        name: "alice".into(),
        kind: "token",
        roles: ["admin".to_string()].into(),
        environment: None,
        sdk_kind: None,
    }
}

fn flag(key: &str) -> Value {
    let expiry = crate::origin::rfc3339(crate::origin::system_now_ms() + 30 * 86_400_000);
    json!({
        "key": key, "kind": "release", "risk": "low", "owner": "web", "expires_at": expiry,
        "enabled": true, "variants": { "on": true, "off": false }, "off_variant": "off",
        "fallthrough": { "variant": "off" }
    })
}

fn create(op: &Op<'_>, key: &str) -> Result<crate::origin::api::Change, OriginError> {
    let state = publish::load_state(op.db, ENV)?;
    changes::submit_and_publish(op, &admin(), changes::create(&state, ENV, flag(key))?)
}

/// `(event, body)` of every delivery, oldest first.
fn deliveries(origin: &Origin) -> Vec<(String, Value)> {
    origin
        .read(|op| {
            let rows = op.db.query(
                "SELECT event, body FROM deliveries ORDER BY id",
                params![],
                |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?)),
            )?;
            Ok(rows
                .into_iter()
                .map(|(e, b)| (e, serde_json::from_str(&b).unwrap()))
                .collect::<Vec<_>>())
        })
        .unwrap()
}

fn types_after(origin: &Origin, seq: i64) -> Vec<&'static str> {
    origin
        .read(|op| after(op.db, seq, 1000))
        .unwrap()
        .iter()
        .map(|r| r.event.type_name())
        .collect()
}

#[test]
fn a_change_writes_its_events_in_its_own_transaction() {
    let (_dir, origin) = fresh();
    let start = origin.read(|op| head(op.db)).unwrap();
    let failed = origin.write(|op| {
        create(op, "rolled-back")?;
        assert!(head(op.db)? > start, "the change emitted its events");
        Err::<(), _>(OriginError::Conflict(
            "the request fails after the change".into(),
        ))
    });
    assert!(failed.is_err());
    assert_eq!(origin.read(|op| head(op.db)).unwrap(), start);
    assert!(deliveries(&origin).is_empty(), "no event, no delivery");

    let change = origin.write(|op| create(op, "kept")).unwrap();
    assert_eq!(
        types_after(&origin, start),
        ["snapshot.published", "change.applied"]
    );
    let delivered = deliveries(&origin);
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert_eq!(delivered[0].0, "change.applied");
    assert_eq!(
        delivered[0].1["data"],
        serde_json::to_value(&change).unwrap()
    );
    assert_eq!(delivered[0].1["environment"], ENV);
}

#[test]
fn events_a_crash_left_unconsumed_are_consumed_once_after_restart() {
    let (dir, origin) = fresh();
    drop(origin);
    // The process died after committing events and before its consumers ran: here,
    // events written by a connection that never dispatches.
    {
        let conn = crate::origin::store::open(
            dir.path(),
            &crate::origin::store::Database::in_data_dir(dir.path()),
            false,
        )
        .unwrap();
        let signing = keys::SigningKeys::load(
            &conn,
            &crate::origin::key_store::KeyStore::Files(crate::origin::key_store::keys_dir(
                dir.path(),
            )),
        )
        .unwrap();
        let config = crate::origin::config::OriginConfig::default();
        let op = Op {
            db: &conn,
            config: &config,
            keys: &signing,
            now_ms: 1_700_000_000_000,
        };
        let notice = json!({ "flag": "f", "environment": ENV });
        emit(
            &op,
            DomainEvent::FlagReviewed {
                environment: ENV.into(),
                notice: notice.clone(),
            },
        )
        .unwrap();
        emit(&op, DomainEvent::SystemDown(down())).unwrap();
    }
    let origin = open(dir.path());
    let expected = vec!["flag.reviewed".to_string(), "system.down".to_string()];
    let events = |o: &Origin| deliveries(o).into_iter().map(|d| d.0).collect::<Vec<_>>();
    assert_eq!(events(&origin), expected);
    // The envelope as posted, byte for byte, dated when the event happened.
    let body: String = origin
        .read(|op| {
            Ok(op.db.query_row(
                "SELECT body FROM deliveries ORDER BY id LIMIT 1",
                params![],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(
        body,
        r#"{"id":1,"event":"flag.reviewed","environment":"development","at":"2023-11-14T22:13:20Z","data":{"flag":"f","environment":"development"}}"#
    );
    // Consumed once: neither more writes nor another restart deliver them again.
    origin.write(|_| Ok(())).unwrap();
    drop(origin);
    let origin = open(dir.path());
    assert_eq!(events(&origin), expected);
}

fn down() -> SystemDown {
    SystemDown {
        system: "db".into(),
        url: "http://127.0.0.1:9/health".into(),
        error: "connection refused".into(),
        failures: 3,
        action: "kill".into(),
        killed: vec!["f".into()],
        paused_rollouts: Vec::new(),
        not_applied: Vec::new(),
        recovery: "auto".into(),
    }
}

struct Recorder {
    seen: Rc<RefCell<Vec<(i64, &'static str)>>>,
}

impl Consumer for Recorder {
    fn name(&self) -> &'static str {
        "test-recorder"
    }

    fn handle(&self, _op: &Op<'_>, event: &Recorded) -> Result<(), OriginError> {
        self.seen
            .borrow_mut()
            .push((event.seq, event.event.type_name()));
        Ok(())
    }
}

/// One event of every type (the match makes a new variant fail to compile here).
fn one_of_each(change: &crate::origin::api::Change) -> Vec<DomainEvent> {
    let notice = || RolloutNotice {
        environment: ENV.into(),
        rollout: json!({ "id": 1, "details": {} }),
    };
    let all = vec![
        DomainEvent::ChangeRequested {
            change: change.clone(),
        },
        DomainEvent::ChangeApproved {
            change: change.clone(),
        },
        DomainEvent::ChangeRejected {
            change: change.clone(),
        },
        DomainEvent::ChangeHeld {
            change: change.clone(),
        },
        DomainEvent::ChangeApplied {
            change: change.clone(),
        },
        DomainEvent::FlagKilled {
            change: change.clone(),
        },
        DomainEvent::FlagReviewed {
            environment: ENV.into(),
            notice: json!({}),
        },
        DomainEvent::RolloutAdvanced(notice()),
        DomainEvent::RolloutRolledBack(notice()),
        DomainEvent::RolloutCompleted(notice()),
        DomainEvent::RolloutAborted(notice()),
        DomainEvent::SystemDown(down()),
        DomainEvent::SystemUp(SystemUp {
            system: "db".into(),
            url: "http://127.0.0.1:9/health".into(),
            recovery: "auto".into(),
            enabled: vec!["f".into()],
            resumed_rollouts: vec![1],
        }),
        DomainEvent::SnapshotPublished {
            environment: ENV.into(),
            version: 9,
        },
    ];
    for event in &all {
        match event {
            DomainEvent::ChangeRequested { .. }
            | DomainEvent::ChangeApproved { .. }
            | DomainEvent::ChangeRejected { .. }
            | DomainEvent::ChangeHeld { .. }
            | DomainEvent::ChangeApplied { .. }
            | DomainEvent::FlagKilled { .. }
            | DomainEvent::FlagReviewed { .. }
            | DomainEvent::RolloutAdvanced(_)
            | DomainEvent::RolloutRolledBack(_)
            | DomainEvent::RolloutCompleted(_)
            | DomainEvent::RolloutAborted(_)
            | DomainEvent::SystemDown(_)
            | DomainEvent::SystemUp(_)
            | DomainEvent::SnapshotPublished { .. } => {}
        }
    }
    all
}

#[test]
fn a_new_consumer_sees_every_event_type_in_order_once() {
    let (_dir, origin) = fresh();
    let change = origin.write(|op| create(op, "f")).unwrap();
    let examples = one_of_each(&change);
    let tags: BTreeSet<&str> = examples.iter().map(DomainEvent::type_name).collect();
    assert_eq!(
        tags,
        TYPES.iter().copied().collect(),
        "TYPES lists every variant"
    );
    for event in &examples {
        let text = serde_json::to_value(event).unwrap();
        assert_eq!(
            text["type"],
            event.type_name(),
            "the stored tag is the type"
        );
        assert_eq!(&serde_json::from_value::<DomainEvent>(text).unwrap(), event);
    }
    for name in webhooks::EVENTS {
        assert!(
            TYPES.contains(name),
            "webhook event {name} has a domain event"
        );
    }
    origin
        .write(|op| {
            for event in examples {
                emit(op, event)?;
            }
            Ok(())
        })
        .unwrap();

    let seen = Rc::new(RefCell::new(Vec::new()));
    let recorder: Vec<Box<dyn Consumer>> = vec![Box::new(Recorder { seen: seen.clone() })];
    let handed = origin.write(|op| dispatch(op, &recorder)).unwrap();
    let all = origin.read(|op| after(op.db, 0, 10_000)).unwrap();
    assert_eq!(handed, all.len(), "a new consumer starts at the beginning");
    let expected: Vec<(i64, &str)> = all.iter().map(|r| (r.seq, r.event.type_name())).collect();
    assert_eq!(*seen.borrow(), expected);
    let types: BTreeSet<&str> = seen.borrow().iter().map(|s| s.1).collect();
    assert_eq!(types, TYPES.iter().copied().collect());
    assert_eq!(origin.write(|op| dispatch(op, &recorder)).unwrap(), 0);
    assert_eq!(seen.borrow().len(), all.len(), "nothing is handed twice");
}

#[test]
fn only_events_every_consumer_consumed_are_pruned() {
    let (dir, origin) = fresh();
    drop(origin);
    let conn = crate::origin::store::open(
        dir.path(),
        &crate::origin::store::Database::in_data_dir(dir.path()),
        false,
    )
    .unwrap();
    let head = head(&conn).unwrap();
    assert!(head > 0, "init published");
    // Not yet consumed by the webhooks: kept, however old.
    set_position(&conn, "webhooks", 0).unwrap();
    assert_eq!(retention::prune(&conn, i64::MAX).unwrap(), 0);
    // Consumed, but newer than the cut-off: kept.
    set_position(&conn, "webhooks", head).unwrap();
    assert_eq!(retention::prune(&conn, 0).unwrap(), 0);
    assert_eq!(retention::prune(&conn, i64::MAX).unwrap() as i64, head);
    assert!(after(&conn, 0, 10).unwrap().is_empty());
    // A position is never reused: what comes next is after what the consumers saw.
    drop(conn);
    let origin = open(dir.path());
    origin
        .write(|op| publish::publish(op, ENV).map(|_| ()))
        .unwrap();
    let next = origin.read(|op| after(op.db, 0, 10)).unwrap();
    assert_eq!(next.len(), 1);
    assert!(next[0].seq > head, "{} after {head}", next[0].seq);
}
