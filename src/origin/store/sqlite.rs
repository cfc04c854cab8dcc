//! The SQLite texts of the migrations (the PostgreSQL ones are in `postgres.rs`, one
//! for one): the schema as SQLite has had it since the first release.

pub(super) const MIGRATIONS: [&str; super::COUNT] = [
    // 1: the first schema.
    r#"
    CREATE TABLE environments (
        name TEXT PRIMARY KEY,
        created_at TEXT NOT NULL
    );
    CREATE TABLE flags (
        environment TEXT NOT NULL REFERENCES environments(name),
        key TEXT NOT NULL,
        document TEXT NOT NULL,
        archived INTEGER NOT NULL DEFAULT 0,
        revision INTEGER NOT NULL,
        updated_at TEXT NOT NULL,
        updated_at_ms INTEGER NOT NULL,
        updated_by TEXT NOT NULL,
        PRIMARY KEY (environment, key)
    );
    CREATE TABLE flag_revisions (
        environment TEXT NOT NULL,
        key TEXT NOT NULL,
        revision INTEGER NOT NULL,
        document TEXT NOT NULL,
        archived INTEGER NOT NULL,
        change_id INTEGER NOT NULL,
        author TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (environment, key, revision)
    );
    CREATE TABLE segments (
        environment TEXT NOT NULL REFERENCES environments(name),
        name TEXT NOT NULL,
        clause TEXT NOT NULL,
        PRIMARY KEY (environment, name)
    );
    CREATE TABLE exclusion_groups (
        environment TEXT NOT NULL REFERENCES environments(name),
        name TEXT NOT NULL,
        definition TEXT NOT NULL,
        PRIMARY KEY (environment, name)
    );
    CREATE TABLE snapshots (
        environment TEXT NOT NULL REFERENCES environments(name),
        version INTEGER NOT NULL,
        key_id TEXT NOT NULL,
        envelope TEXT NOT NULL,
        etag TEXT NOT NULL,
        issued_at TEXT NOT NULL,
        issued_at_ms INTEGER NOT NULL,
        expires_at TEXT NOT NULL,
        PRIMARY KEY (environment, version)
    );
    CREATE TABLE signing_keys (
        id TEXT PRIMARY KEY,
        public_key TEXT NOT NULL,
        created_at TEXT NOT NULL,
        retired_at TEXT,
        not_after_ms INTEGER
    );
    CREATE TABLE tokens (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('token', 'sdk')),
        roles TEXT NOT NULL,
        environment TEXT,
        hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        revoked_at TEXT
    );
    CREATE TABLE changes (
        id INTEGER PRIMARY KEY,
        environment TEXT NOT NULL REFERENCES environments(name),
        target TEXT NOT NULL,
        kind TEXT NOT NULL,
        status TEXT NOT NULL,
        author TEXT NOT NULL,
        reason TEXT,
        document TEXT,
        base_revision INTEGER NOT NULL,
        required TEXT NOT NULL,
        oversight_level INTEGER,
        created_at TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        decided_at TEXT,
        rejection TEXT,
        applied TEXT,
        archived INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX changes_by_status ON changes (status, environment);
    CREATE TABLE approvals (
        change_id INTEGER NOT NULL REFERENCES changes(id),
        approver TEXT NOT NULL,
        role TEXT NOT NULL,
        comment TEXT,
        at TEXT NOT NULL,
        PRIMARY KEY (change_id, approver)
    );
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT NOT NULL,
        details TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE INDEX audit_by_subject ON audit (subject);
    -- The chain's newest entry, with an HMAC keyed by a secret kept outside the
    -- database: removing entries from the end of the chain is detected too.
    CREATE TABLE audit_head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        seq INTEGER NOT NULL,
        hash TEXT NOT NULL,
        mac TEXT NOT NULL
    );
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TABLE webhooks (
        id INTEGER PRIMARY KEY,
        environment TEXT NOT NULL REFERENCES environments(name),
        url TEXT NOT NULL,
        secret TEXT NOT NULL,
        events TEXT NOT NULL,
        created_at TEXT NOT NULL,
        deleted_at TEXT
    );
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        webhook_id INTEGER NOT NULL REFERENCES webhooks(id),
        event TEXT NOT NULL,
        body TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_status INTEGER,
        last_error TEXT,
        created_at TEXT NOT NULL,
        next_attempt_ms INTEGER NOT NULL,
        delivered_at TEXT
    );
    CREATE INDEX deliveries_due ON deliveries (status, next_attempt_ms);
    CREATE TABLE delivery_attempts (
        delivery_id INTEGER NOT NULL REFERENCES deliveries(id),
        attempt INTEGER NOT NULL,
        at TEXT NOT NULL,
        status INTEGER,
        error TEXT,
        PRIMARY KEY (delivery_id, attempt)
    );
    "#,
    // 2: edge metrics.
    r#"
    CREATE TABLE metric_batches (
        batch_id TEXT PRIMARY KEY,
        environment TEXT NOT NULL,
        received_at TEXT NOT NULL,
        sdk TEXT NOT NULL
    );
    CREATE TABLE metric_buckets (
        environment TEXT NOT NULL REFERENCES environments(name),
        bucket_ms INTEGER NOT NULL,
        batch TEXT NOT NULL,
        PRIMARY KEY (environment, bucket_ms)
    );
    "#,
    // 3: progressive rollouts.
    r#"
    CREATE TABLE rollouts (
        id INTEGER PRIMARY KEY,
        environment TEXT NOT NULL REFERENCES environments(name),
        flag TEXT NOT NULL,
        variant TEXT NOT NULL,
        rule TEXT,
        stages TEXT NOT NULL,
        stage_index INTEGER NOT NULL,
        stage_duration_ms INTEGER NOT NULL,
        guards TEXT NOT NULL,
        status TEXT NOT NULL,
        start_percentage REAL NOT NULL,
        stage_started_ms INTEGER,
        change_id INTEGER,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        last_check TEXT,
        history TEXT NOT NULL DEFAULT '[]',
        stage_metrics TEXT
    );
    CREATE UNIQUE INDEX one_active_rollout ON rollouts (environment, flag)
        WHERE status IN ('waiting_approval', 'running', 'paused');
    "#,
    // 4: publish targets.
    r#"
    CREATE TABLE publish_status (
        target TEXT NOT NULL,
        environment TEXT NOT NULL,
        version INTEGER NOT NULL,
        at TEXT NOT NULL,
        error TEXT,
        PRIMARY KEY (target, environment)
    );
    "#,
    // 5: client and server SDK keys (every existing key is a server key, as before);
    // batch ids deduplicated per environment and key; accepted and rejected batches
    // per key; metrics buckets kept apart by the kind of key that sent them; the keys
    // whose metrics fed a rollout stage.
    r#"
    ALTER TABLE tokens ADD COLUMN sdk_kind TEXT CHECK (sdk_kind IN ('client', 'server'));
    UPDATE tokens SET sdk_kind = 'server' WHERE kind = 'sdk';
    CREATE TABLE sdk_key_batches (
        token_id INTEGER PRIMARY KEY REFERENCES tokens(id),
        accepted INTEGER NOT NULL DEFAULT 0,
        rejected INTEGER NOT NULL DEFAULT 0,
        last_rejected_at TEXT,
        last_rejection TEXT
    );
    CREATE TABLE metric_batches_by_key (
        environment TEXT NOT NULL,
        token_id INTEGER NOT NULL,
        batch_id TEXT NOT NULL,
        received_at TEXT NOT NULL,
        sdk TEXT NOT NULL,
        PRIMARY KEY (environment, token_id, batch_id)
    );
    -- Which key sent a batch was not recorded before: 0.
    INSERT INTO metric_batches_by_key SELECT environment, 0, batch_id, received_at, sdk FROM metric_batches;
    DROP TABLE metric_batches;
    ALTER TABLE metric_batches_by_key RENAME TO metric_batches;
    CREATE TABLE metric_buckets_by_source (
        environment TEXT NOT NULL REFERENCES environments(name),
        bucket_ms INTEGER NOT NULL,
        source TEXT NOT NULL CHECK (source IN ('server', 'client')),
        batch TEXT NOT NULL,
        PRIMARY KEY (environment, bucket_ms, source)
    );
    INSERT INTO metric_buckets_by_source SELECT environment, bucket_ms, 'server', batch FROM metric_buckets;
    DROP TABLE metric_buckets;
    ALTER TABLE metric_buckets_by_source RENAME TO metric_buckets;
    ALTER TABLE rollouts ADD COLUMN stage_keys TEXT;
    "#,
    // 6: scheduled changes: applied by the scheduler once approved and due.
    r#"
    ALTER TABLE changes ADD COLUMN apply_at_ms INTEGER;
    "#,
    // 7: the outbox: domain events written with the operation that made them
    // (`outbox::DomainEvent`, JSON tagged by `type`), and how far each consumer has
    // consumed them. AUTOINCREMENT: a position is never reused, even once every
    // event before it was pruned.
    r#"
    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        type TEXT NOT NULL,
        environment TEXT,
        at_ms INTEGER NOT NULL,
        event TEXT NOT NULL
    );
    CREATE TABLE outbox_positions (
        consumer TEXT PRIMARY KEY,
        seq INTEGER NOT NULL
    );
    "#,
    // 8: the control variants' tracked values in a rollout stage, for best-execution guards.
    r#"
    ALTER TABLE rollouts ADD COLUMN control_metrics TEXT;
    "#,
    // 9: approvals and signing keys in the order they were made, by a column of
    // their own rather than the rowid only SQLite has: existing rows keep their
    // rowid's order, new rows take the next position.
    r#"
    ALTER TABLE approvals ADD COLUMN position INTEGER;
    UPDATE approvals SET position = rowid;
    CREATE TRIGGER approvals_position AFTER INSERT ON approvals WHEN NEW.position IS NULL
        BEGIN UPDATE approvals SET position = (SELECT COALESCE(MAX(position), 0) + 1 FROM approvals)
            WHERE rowid = NEW.rowid; END;
    ALTER TABLE signing_keys ADD COLUMN position INTEGER;
    UPDATE signing_keys SET position = rowid;
    CREATE TRIGGER signing_keys_position AFTER INSERT ON signing_keys WHEN NEW.position IS NULL
        BEGIN UPDATE signing_keys SET position = (SELECT COALESCE(MAX(position), 0) + 1 FROM signing_keys)
            WHERE rowid = NEW.rowid; END;
    "#,
    // 10: private keys sealed with the key-encryption key (`key_store.rs`): the
    // signing keys (`signing:<id>`) and the audit key (`audit`) of an origin whose
    // replicas share the database. Empty on an origin that keeps them in files.
    r#"
    CREATE TABLE sealed_keys (
        name TEXT PRIMARY KEY,
        sealed BLOB NOT NULL,
        created_at TEXT NOT NULL
    );
    "#,
];
