//! The private keys on PostgreSQL: sealed in the database with the key-encryption
//! key (`VEXIL_KEY_ENCRYPTION_KEY`), so replicas with data directories of their own
//! sign with one key, follow a rotation another replica made, and the database
//! alone (a dump, a backup) never holds a private key in clear.

use crate::support::{simple_flag, test_kek, vexil, DataDir, Server, TEST_KEK};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::json;
use std::process::Command;
use std::time::{Duration, Instant};

/// A data directory of its own (empty) on `data`'s database: another replica.
fn replica_dir(data: &DataDir, name: &str) -> DataDir {
    let dir = std::env::temp_dir().join(format!("vexil-replica-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    DataDir {
        dir,
        database: data.database.clone(),
    }
}

/// The key id that signed the environment's current snapshot on `server`, checked
/// against `keyring_from`'s published keys.
fn signed_by(server: &Server, keyring_from: &Server, env: &str, token: &str) -> String {
    let keys = keyring_from
        .call("GET", "/api/v1/keys", None, None, &[])
        .expect(200);
    let keyring = vexil::snapshot::Keyring::from_json(&keys.json["keyring"].to_string()).unwrap();
    let snap = server
        .get(&format!("/api/v1/environments/{env}/snapshot"), token)
        .expect(200);
    vexil::snapshot::verify(snap.text.as_bytes(), &keyring, 1 << 24)
        .expect("the snapshot verifies with the other replica's keyring")
        .key_id
}

fn active_key(server: &Server) -> String {
    let keys = server
        .call("GET", "/api/v1/keys", None, None, &[])
        .expect(200);
    keys.json["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["status"] == "active")
        .map(|k| k["id"].as_str().unwrap().to_string())
        .expect("an active key")
}

/// `sealed_keys.sealed` of `name`, opened with the tests' KEK.
fn unsealed(data: &DataDir, name: &str) -> Vec<u8> {
    let hex = data.psql(&format!(
        "SELECT encode(sealed, 'hex') FROM sealed_keys WHERE name = '{name}'"
    ));
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    test_kek()
        .open(name, &bytes)
        .expect("sealed with the tests' KEK")
}

#[test]
fn replicas_with_their_own_data_directories_share_one_key_and_follow_a_rotation() {
    let (data, admin) = DataDir::init("replica_keys");
    let other = replica_dir(&data, "keys");
    // Nothing private in the data directory: the keys are in the database.
    let files: Vec<String> = std::fs::read_dir(data.path().join("keys"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files, ["sealed-in-database"]);

    let (a, b) = (Server::start(&data), Server::start(&other));
    let first = active_key(&a);
    assert_eq!(active_key(&b), first);
    b.post(
        "/api/v1/environments/production/flags",
        &admin,
        json!({ "flag": simple_flag("signed-by-b") }),
    )
    .expect(201);
    assert_eq!(signed_by(&b, &a, "production", &admin), first);

    // A rotation on A: B's GET /keys follows without a write of its own…
    let rotated = a
        .post("/api/v1/keys/rotate", &admin, json!({ "overlap": "1h" }))
        .expect(200);
    let second = rotated.json["active"].as_str().unwrap().to_string();
    assert_ne!(second, first);
    let deadline = Instant::now() + Duration::from_secs(10);
    while active_key(&b) != second {
        assert!(Instant::now() < deadline, "B never took up the rotation");
        std::thread::sleep(Duration::from_millis(50));
    }
    // …and what B signs next is signed with the new key.
    b.post(
        "/api/v1/environments/staging/flags",
        &admin,
        json!({ "flag": simple_flag("signed-after-rotation") }),
    )
    .expect(201);
    assert_eq!(signed_by(&b, &a, "staging", &admin), second);
    let mut verify = vec!["audit", "verify", "--data", other.arg()];
    verify.extend(other.database_args());
    let out = vexil(&verify);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The database holds the private keys sealed only: a full dump of it contains
    // neither seed (raw, hex or base64) nor the audit key.
    let url = data.database.as_deref().unwrap();
    let dump = Command::new("pg_dump")
        .arg(url)
        .output()
        .expect("pg_dump runs");
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    for name in [
        format!("signing:{first}"),
        format!("signing:{second}"),
        "audit".into(),
    ] {
        let secret = unsealed(&data, &name);
        assert_eq!(secret.len(), 32, "{name}");
        let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        for shown in [hex, BASE64.encode(&secret)] {
            let text = String::from_utf8_lossy(&dump.stdout);
            assert!(!text.contains(&shown), "{name} in clear in the dump");
        }
        assert!(!dump.stdout.windows(32).any(|w| w == secret.as_slice()));
    }
    // What was unsealed is the key published for it.
    let seed: [u8; 32] = unsealed(&data, &format!("signing:{second}"))
        .try_into()
        .unwrap();
    let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
    assert_eq!(
        data.psql(&format!(
            "SELECT public_key FROM signing_keys WHERE id = '{second}'"
        )),
        BASE64.encode(public.as_bytes())
    );
    drop((a, b));
}

/// `vexil ARGS` with the key-encryption key `kek` (or none).
fn vexil_with_kek(args: &[&str], kek: Option<&str>) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vexil"));
    command
        .args(args)
        .env_remove(vexil::origin::kek::KEK_ENV)
        .env_remove("VEXIL_KEY_ENCRYPTION_KEY_FILE");
    if let Some(kek) = kek {
        command.env(vexil::origin::kek::KEK_ENV, kek);
    }
    command.output().expect("vexil runs")
}

#[test]
fn a_missing_or_wrong_key_encryption_key_is_refused_clearly() {
    let (data, _admin) = DataDir::init("replica_kek");
    let mut serve = vec!["serve", "--data", data.arg(), "--listen", "127.0.0.1:0"];
    serve.extend(data.database_args());

    let e = vexil_with_kek(&serve, None);
    let stderr = String::from_utf8_lossy(&e.stderr);
    assert!(!e.status.success());
    assert!(stderr.contains("set VEXIL_KEY_ENCRYPTION_KEY"), "{stderr}");

    let wrong = BASE64.encode([9u8; 32]);
    let e = vexil_with_kek(&serve, Some(&wrong));
    let stderr = String::from_utf8_lossy(&e.stderr);
    assert!(!e.status.success());
    assert!(
        stderr.contains("cannot decrypt signing key")
            && stderr.contains("wrong key-encryption key?"),
        "{stderr}"
    );
    let e = vexil_with_kek(&serve, Some("c2hvcnQ="));
    let stderr = String::from_utf8_lossy(&e.stderr);
    assert!(
        stderr.contains("VEXIL_KEY_ENCRYPTION_KEY is not a key-encryption key"),
        "{stderr}"
    );

    // The same key from a file serves; `audit verify` takes it too.
    let file = data.path().join("kek.txt");
    std::fs::write(&file, format!("{TEST_KEK}\n")).unwrap();
    let mut verify = vec!["audit", "verify", "--data", data.arg()];
    verify.extend(data.database_args());
    verify.extend(["--key-encryption-key-file", file.to_str().unwrap()]);
    let out = vexil_with_kek(&verify, Some(&wrong));
    assert!(
        out.status.success(),
        "the file wins: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // init on PostgreSQL without one is refused before it writes an origin, saying
    // what to do; given one, it then succeeds.
    let fresh = crate::support::postgres::shared().create_database("replica_kek_init");
    let dir = tempfile::tempdir().unwrap();
    let init = [
        "init",
        "--data",
        dir.path().to_str().unwrap(),
        "--database",
        &fresh,
    ];
    let e = vexil_with_kek(&init, None);
    let stderr = String::from_utf8_lossy(&e.stderr);
    assert!(!e.status.success());
    assert!(stderr.contains("key-encryption key"), "{stderr}");
    assert!(
        vexil_with_kek(&init, Some(TEST_KEK)).status.success(),
        "then it can"
    );
}

#[test]
fn keys_kept_in_files_by_an_earlier_origin_are_sealed_into_the_database_at_start() {
    // An origin on PostgreSQL from before migration 10: its keys in keys/ files,
    // none in the database (made here from a current one, its rows emptied).
    let (data, admin) = DataDir::init("replica_import");
    let id = data.psql("SELECT id FROM signing_keys WHERE retired_at IS NULL");
    let seed: [u8; 32] = unsealed(&data, &format!("signing:{id}"))
        .try_into()
        .unwrap();
    let audit = unsealed(&data, "audit");
    let keys = data.path().join("keys");
    std::fs::remove_file(keys.join("sealed-in-database")).unwrap();
    let file = vexil::snapshot::PrivateKeyFile::new(
        id.as_str(),
        &ed25519_dalek::SigningKey::from_bytes(&seed),
    );
    std::fs::write(
        keys.join(format!("{id}.json")),
        serde_json::to_string_pretty(&file).unwrap(),
    )
    .unwrap();
    std::fs::write(keys.join("audit.key"), BASE64.encode(&audit) + "\n").unwrap();
    data.psql("DELETE FROM sealed_keys");

    // A replica without those files cannot start, and says why.
    let other = replica_dir(&data, "import");
    let mut serve = vec!["serve", "--data", other.arg(), "--listen", "127.0.0.1:0"];
    serve.extend(other.database_args());
    let e = vexil_with_kek(&serve, Some(TEST_KEK));
    let stderr = String::from_utf8_lossy(&e.stderr);
    assert!(
        stderr.contains("the database holds no sealed signing key"),
        "{stderr}"
    );

    // The origin's own data directory seals them at its start; then any replica runs.
    let a = Server::start(&data);
    assert_eq!(active_key(&a), id);
    assert_eq!(data.psql("SELECT count(*) FROM sealed_keys"), "2");
    assert_eq!(unsealed(&data, &format!("signing:{id}")), seed);
    assert_eq!(unsealed(&data, "audit"), audit);
    let b = Server::start(&other);
    b.post(
        "/api/v1/environments/production/flags",
        &admin,
        json!({ "flag": simple_flag("after-import") }),
    )
    .expect(201);
    assert_eq!(signed_by(&b, &a, "production", &admin), id);
    let mut verify = vec!["audit", "verify", "--data", other.arg()];
    verify.extend(other.database_args());
    let out = vexil(&verify);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop((a, b));
}
