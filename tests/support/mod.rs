//! A real `vexil serve` for tests: a temp data directory from `vexil init`, the
//! server on an ephemeral port, and a small JSON client.
#![allow(dead_code)]

pub mod contract;
pub mod postgres;

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The key-encryption key every `vexil` the tests run is given
/// (`VEXIL_KEY_ENCRYPTION_KEY`): on PostgreSQL it seals the private keys in the
/// database; SQLite does not use it.
pub const TEST_KEK: &str = "dGVzdCBrZXktZW5jcnlwdGlvbiBrZXkgb2YgMzIgYnk=";

/// [`TEST_KEK`], for the library calls that take one.
pub fn test_kek() -> vexil::origin::kek::Kek {
    vexil::origin::kek::Kek::from_base64(TEST_KEK, "TEST_KEK").unwrap()
}

/// Whether the origin's tests run on PostgreSQL: in a test binary whose name ends in
/// `_postgres` (tests/origin_api_postgres.rs runs tests/origin_api/ so), or with
/// `VEXIL_TEST_BACKEND=postgres`. Then every data directory gets a database of its
/// own on one server per test binary (`postgres::shared`), passed to `init` and
/// `serve` as `--database`.
pub fn on_postgres() -> bool {
    env!("CARGO_CRATE_NAME").ends_with("_postgres")
        || std::env::var("VEXIL_TEST_BACKEND").is_ok_and(|b| b == "postgres")
}

/// A temp data directory (and, on PostgreSQL, its database), removed on drop.
pub struct DataDir {
    pub dir: PathBuf,
    /// `--database URL` when the tests run on PostgreSQL.
    pub database: Option<String>,
}

impl DataDir {
    /// `vexil init` in a fresh directory; returns it and the admin token.
    pub fn init(name: &str) -> (DataDir, String) {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir =
            std::env::temp_dir().join(format!("vexil-origin-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let database = on_postgres().then(|| {
            // PostgreSQL's names: 63 characters at most, lower case.
            let name: String = name
                .chars()
                .take(40)
                .map(|c| match c.is_ascii_alphanumeric() {
                    true => c.to_ascii_lowercase(),
                    false => '_',
                })
                .collect();
            let name = format!("v_{name}_{}_{n}", std::process::id());
            postgres::shared().create_database(&name)
        });
        let data = DataDir { dir, database };
        let mut args = vec!["init", "--data", data.arg()];
        args.extend(data.database_args());
        let out = vexil(&args);
        assert!(
            out.status.success(),
            "init failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let token = stdout
            .split(|c: char| c.is_whitespace() || c == '"')
            .find(|w| w.starts_with("vxt_"))
            .unwrap_or_else(|| panic!("no admin token in: {stdout}"))
            .to_string();
        (data, token)
    }

    /// Runs `sql` on this data directory's PostgreSQL database (psql); panics on
    /// SQLite or when it fails.
    pub fn psql(&self, sql: &str) -> String {
        let url = self.database.as_deref().expect("a PostgreSQL database");
        let name = url.rsplit('/').next().unwrap_or_default();
        postgres::shared()
            .psql_on(name, sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// `["--database", URL]` on PostgreSQL; nothing on SQLite.
    pub fn database_args(&self) -> Vec<&str> {
        match &self.database {
            Some(url) => vec!["--database", url.as_str()],
            None => Vec::new(),
        }
    }

    /// Appends to `vexil.toml`.
    pub fn configure(&self, toml: &str) {
        let path = self.dir.join("vexil.toml");
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push('\n');
        text.push_str(toml);
        std::fs::write(path, text).unwrap();
    }

    /// Replaces a `key = value` line of `vexil.toml`.
    pub fn set(&self, line_prefix: &str, line: &str) {
        let path = self.dir.join("vexil.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let text: Vec<String> = text
            .lines()
            .map(|l| {
                if l.starts_with(line_prefix) {
                    line.to_string()
                } else {
                    l.to_string()
                }
            })
            .collect();
        std::fs::write(path, text.join("\n")).unwrap();
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    pub fn arg(&self) -> &str {
        self.dir.to_str().unwrap()
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(url) = self.database.as_ref().filter(|_| on_postgres()) {
            let name = url.rsplit('/').next().unwrap_or_default();
            let _ = postgres::shared().psql_on(
                "postgres",
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            );
        }
    }
}

/// Runs the `vexil` binary.
pub fn vexil(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vexil"))
        .args(args)
        .env(vexil::origin::kek::KEK_ENV, TEST_KEK)
        .output()
        .expect("vexil runs")
}

/// Runs the `vexil` binary against a server with a token.
pub fn vexil_as(server: &Server, token: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vexil"))
        .args(args)
        .env(vexil::origin::kek::KEK_ENV, TEST_KEK)
        .env("VEXIL_SERVER", &server.url)
        .env("VEXIL_TOKEN", token)
        .output()
        .expect("vexil runs")
}

/// A running `vexil serve`, killed on drop.
pub struct Server {
    child: Child,
    pub url: String,
}

impl Server {
    pub fn start(data: &DataDir) -> Server {
        Server::start_with(data, &[])
    }

    /// Starts with extra environment variables (`VEXIL_CLOCK_FILE`).
    pub fn start_with(data: &DataDir, vars: &[(&str, &str)]) -> Server {
        Server::start_args(data, &[], vars)
    }

    /// Starts with extra `vexil serve` arguments (`--tls-cert`, `--public-metrics`)
    /// and environment variables.
    pub fn start_args(data: &DataDir, args: &[&str], vars: &[(&str, &str)]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vexil"))
            .args(["serve", "--data", data.arg(), "--listen", "127.0.0.1:0"])
            .args(data.database_args())
            .args(args)
            .env(vexil::origin::kek::KEK_ENV, TEST_KEK)
            .envs(vars.iter().copied())
            // The server's log (scheduler actions, delivery failures) only when asked.
            .stderr(if std::env::var_os("VEXIL_TEST_LOG").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .spawn()
            .expect("serve starts");
        let stdout = child.stdout.take().unwrap();
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        // Keep reading what the server prints, as a terminal would.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_string();
        Server { child, url }
    }

    /// Stops the server the hard way (SIGKILL), as a crash would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops the server with SIGTERM and waits for it to exit.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().unwrap()
    }

    /// Follows an SSE stream; each `(event, data)` is sent to the returned channel.
    pub fn events(&self, path: &str, token: &str) -> std::sync::mpsc::Receiver<(String, Value)> {
        use std::io::BufRead as _;
        let (tx, rx) = std::sync::mpsc::channel();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let response = agent
            .get(&format!("{}{}", self.url, path))
            .header("Authorization", format!("Bearer {token}"))
            .call()
            .expect("event stream opens");
        assert_eq!(response.status().as_u16(), 200);
        std::thread::spawn(move || {
            let reader = std::io::BufReader::new(response.into_body().into_reader());
            let mut event = String::new();
            for line in reader.lines() {
                let Ok(line) = line else { return };
                if let Some(e) = line.strip_prefix("event: ").or(line.strip_prefix("event:")) {
                    event = e.trim().to_string();
                } else if let Some(d) = line.strip_prefix("data: ").or(line.strip_prefix("data:")) {
                    let data = serde_json::from_str(d.trim()).unwrap_or(Value::Null);
                    if tx.send((event.clone(), data)).is_err() {
                        return;
                    }
                }
            }
        });
        rx
    }

    /// One request: (status, JSON body or Null, response headers as lowercase pairs).
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Reply {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        let url = format!("{}{}", self.url, path);
        let mut req = ureq::http::Request::builder().method(method).uri(&url);
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        if body.is_some() {
            req = req.header("Content-Type", "application/json");
        }
        let request = req.body(body.unwrap_or("").to_string()).unwrap();
        let mut response = match agent.run(request) {
            Ok(r) => r,
            // The server may answer and close before a too-large body is sent.
            Err(e) => {
                return Reply {
                    status: 0,
                    json: Value::Null,
                    text: e.to_string(),
                    headers: Vec::new(),
                }
            }
        };
        let status = response.status().as_u16();
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            json,
            text,
            headers,
        }
    }

    pub fn get(&self, path: &str, token: &str) -> Reply {
        self.call("GET", path, Some(token), None, &[])
    }

    pub fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call("POST", path, Some(token), Some(&body.to_string()), &[])
    }

    pub fn put(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call("PUT", path, Some(token), Some(&body.to_string()), &[])
    }

    /// Creates an SDK key for `env`; returns the secret.
    pub fn sdk_key(&self, admin: &str, env: &str) -> String {
        let r = self.post(
            "/api/v1/sdk-keys",
            admin,
            json!({ "name": format!("edge-{env}"), "environment": env }),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        r.json["token"].as_str().unwrap().to_string()
    }

    /// Creates a token with roles; returns the secret.
    pub fn token(&self, admin: &str, name: &str, roles: &[&str]) -> String {
        let r = self.post(
            "/api/v1/tokens",
            admin,
            json!({ "name": name, "roles": roles }),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        r.json["token"].as_str().unwrap().to_string()
    }

    /// Creates `key` in staging with clinical impact high (oversight level 2, reviewed
    /// every 30 days) and has a token of each role its change requires approve it.
    pub fn clinical_flag(&self, admin: &str, editor: &str, key: &str) {
        let mut flag = simple_flag(key);
        flag["clinical_impact"] = json!("high");
        let change = self
            .post(
                "/api/v1/environments/staging/flags",
                editor,
                json!({ "flag": flag }),
            )
            .expect(201)
            .json;
        for role in change["required"].as_array().into_iter().flatten() {
            let role = role["role"].as_str().unwrap();
            let approver = self.token(admin, &format!("approver-{role}"), &[role]);
            let path = format!("/api/v1/changes/{}/approve", change["id"]);
            self.post(&path, &approver, json!({})).expect(200);
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub json: Value,
    pub text: String,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Asserts the status, showing the body otherwise.
    pub fn expect(self, status: u16) -> Reply {
        assert_eq!(self.status, status, "{}", self.text);
        self
    }
}

/// An example flags file from `examples/`, with every `expires_at` moved 90 days
/// ahead of now so tests do not age.
pub fn example(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name);
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let expiry = vexil::engine::time::format_rfc3339_ms(now_ms() + 90 * 86_400_000);
    for flag in doc["flags"].as_array_mut().unwrap() {
        if flag.get("expires_at").is_some() {
            flag["expires_at"] = json!(expiry);
        }
    }
    doc
}

/// A flag of an example file.
pub fn example_flag(file: &str, key: &str) -> Value {
    example(file)["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == key)
        .unwrap_or_else(|| panic!("{file} has no flag {key}"))
        .clone()
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A simple low-risk release flag.
pub fn simple_flag(key: &str) -> Value {
    let expiry = vexil::engine::time::format_rfc3339_ms(now_ms() + 30 * 86_400_000);
    json!({
        "key": key, "kind": "release", "risk": "low", "owner": "web", "expires_at": expiry,
        "enabled": true, "variants": { "on": true, "off": false }, "off_variant": "off",
        "fallthrough": { "variant": "off" }
    })
}

/// Verifies the environment's snapshot with the keyring the server publishes, as an
/// edge would; returns the payload.
pub fn verified_payload(server: &Server, env: &str, token: &str) -> Value {
    let keys = server
        .call("GET", "/api/v1/keys", None, None, &[])
        .expect(200);
    let keyring = vexil::snapshot::Keyring::from_json(&keys.json["keyring"].to_string()).unwrap();
    let snap = server
        .get(&format!("/api/v1/environments/{env}/snapshot"), token)
        .expect(200);
    let verified = vexil::snapshot::verify(snap.text.as_bytes(), &keyring, 1 << 24)
        .expect("snapshot verifies");
    assert_eq!(verified.environment, env);
    verified.snapshot.to_document()
}

/// Keys of the flags a payload carries.
pub fn flag_keys(payload: &Value) -> Vec<String> {
    payload["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap().to_string())
        .collect()
}

/// Moves the origin's clock: an offset in milliseconds the server reads from the file
/// named by `VEXIL_CLOCK_FILE` (pass [`Clock::var`] to [`Server::start_with`]).
pub struct Clock {
    path: PathBuf,
    offset_ms: i64,
}

impl Clock {
    /// A clock at the real time, its file in `data`.
    pub fn new(data: &DataDir) -> Clock {
        let path = data.path().join("clock-offset");
        std::fs::write(&path, "0").unwrap();
        Clock { path, offset_ms: 0 }
    }

    /// A clock reading `at_ms` now, its file in `data`.
    pub fn at(data: &DataDir, at_ms: i64) -> Clock {
        let mut clock = Clock::new(data);
        clock.set(at_ms);
        clock
    }

    /// Moves the clock `ms` forward.
    pub fn advance(&mut self, ms: i64) {
        self.set_offset(self.offset_ms + ms);
    }

    /// Sets the clock to read `at_ms` now.
    pub fn set(&mut self, at_ms: i64) {
        self.set_offset(at_ms - now_ms());
    }

    /// Sets the clock `ms` ahead of the real time.
    pub fn set_offset(&mut self, ms: i64) {
        self.offset_ms = ms;
        std::fs::write(&self.path, self.offset_ms.to_string()).unwrap();
    }

    /// The origin's time now.
    pub fn now(&self) -> i64 {
        now_ms() + self.offset_ms
    }

    /// The environment variable that hands the clock to a server.
    pub fn var(&self) -> (&str, &str) {
        ("VEXIL_CLOCK_FILE", self.path.to_str().unwrap())
    }
}

/// Creates `key` in production as a 75/25 rollout of `on` and posts its metrics
/// ([`split_batch`]) with the SDK key `sdk`.
pub fn split_flag_with_metrics(s: &Server, editor: &str, sdk: &str, key: &str) {
    let mut flag = simple_flag(key);
    flag["fallthrough"] = serde_json::json!({ "rollout": { "weights": { "on": 75, "off": 25 } } });
    s.post(
        "/api/v1/environments/production/flags",
        editor,
        serde_json::json!({ "flag": flag }),
    )
    .expect(201);
    s.post("/api/v1/metrics", sdk, split_batch(key, now_ms()))
        .expect(200);
}

/// A metrics batch: `flag_key` evaluated `on` 300 times and `off` 100 times (by
/// distinct units, reason SPLIT), `order.placed` tracked for a tenth of each with a
/// mean value of 12 and 10 and three and two failures.
pub fn split_batch(flag_key: &str, end_ms: i64) -> serde_json::Value {
    use vexil::metrics::{Batch, BatchMeta, EventStats, FlagStats, OutcomeStats, VariantStats};
    let mut b = Batch::new(BatchMeta {
        batch_id: "b1".into(),
        sdk: "test/1".into(),
        environment: "production".into(),
        snapshot_version: Some(1),
        window_start_ms: end_ms - 1000,
        window_end_ms: end_ms,
    });
    let mut flag = FlagStats::default();
    let mut event = EventStats::default();
    for (variant, count, value, failures) in [("on", 300u64, 12.0, 3u64), ("off", 100, 10.0, 2)] {
        let mut v = VariantStats {
            count,
            ..Default::default()
        };
        v.reasons.insert("SPLIT".into(), count);
        for i in 0..count {
            v.units
                .insert(vexil::metrics::unit_hash(&format!("{variant}-{i}")));
        }
        flag.variants.insert(variant.into(), v);
        let tracked = count / 10;
        let o = OutcomeStats {
            count: tracked,
            value_sum: value * tracked as f64,
            value_count: tracked,
            success: tracked - failures,
            failure: failures,
            ..Default::default()
        };
        event.count += tracked;
        event
            .attributions
            .entry(flag_key.into())
            .or_default()
            .insert(variant.into(), o);
    }
    b.flags.insert(flag_key.into(), flag);
    b.events.insert("order.placed".into(), event);
    serde_json::to_value(&b).unwrap()
}
