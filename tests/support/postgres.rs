//! A throwaway PostgreSQL server for tests, started by the test itself: `initdb` in
//! a temp directory (as the `postgres` user when running as root, since PostgreSQL
//! refuses to run as root), `postgres` on a free port of 127.0.0.1, removed on drop.
//! `VEXIL_TEST_DATABASE_URL` points the tests at a server of your own instead.
//!
//! The binaries come from Debian's `postgresql` package (`make test` installs it:
//! `scripts/setup.sh --postgres`), found under `/usr/lib/postgresql/<major>/bin` or on
//! `PATH`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// One server for the whole test binary (each test makes its own database on it):
/// started on first use and stopped, by a watchdog, once the test process is gone,
/// however it ends (a static is never dropped).
pub fn shared() -> &'static Postgres {
    static SHARED: OnceLock<Postgres> = OnceLock::new();
    SHARED.get_or_init(|| {
        let pg = Postgres::start();
        pg.stop_when_this_process_exits();
        pg
    })
}

/// A server the tests may use: ours (stopped and removed on drop) or the caller's.
pub struct Postgres {
    /// `postgres://user@host:port/database`.
    pub url: String,
    server: Option<Server>,
}

/// A server of ours: the process, its temp directory, how to stop it.
struct Server {
    child: Child,
    dir: PathBuf,
    bin: PathBuf,
    root: bool,
}

/// Where `initdb`, `postgres` and `pg_isready` are.
fn bin_dir() -> Option<PathBuf> {
    let mut majors: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists())
        .collect();
    majors.sort();
    if let Some(newest) = majors.pop() {
        return Some(newest);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find(|p| p.join("initdb").exists() && p.join("postgres").exists())
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `program args...`, as the `postgres` user when we are root.
fn as_server_user(program: &Path, root: bool) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Postgres {
    /// The caller's server (`VEXIL_TEST_DATABASE_URL`), or a new one of ours with an
    /// empty database `vexil_test`. Panics, saying what is missing, when PostgreSQL
    /// is not installed.
    pub fn start() -> Postgres {
        if let Ok(url) = std::env::var("VEXIL_TEST_DATABASE_URL") {
            return Postgres { url, server: None };
        }
        Postgres::start_ours(None)
    }

    /// A new server of ours (never the caller's) that also accepts TLS, with this
    /// certificate and key (PEM).
    pub fn start_with_tls(cert_pem: &str, key_pem: &str) -> Postgres {
        Postgres::start_ours(Some((cert_pem, key_pem)))
    }

    fn start_ours(tls: Option<(&str, &str)>) -> Postgres {
        let bin = bin_dir().expect(
            "PostgreSQL is not installed: `make test` installs it (scripts/setup.sh --postgres), \
             or set VEXIL_TEST_DATABASE_URL",
        );
        let root = running_as_root();
        let dir =
            std::env::temp_dir().join(format!("vexil-pg-{}-{}", std::process::id(), free_port()));
        std::fs::create_dir_all(&dir).expect("a temp directory");
        let mut settings: Vec<String> = Vec::new();
        if let Some((cert, key)) = tls {
            // The server refuses a key others may read.
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::write(dir.join("server.crt"), cert).expect("the certificate");
            std::fs::write(dir.join("server.key"), key).expect("the key");
            std::fs::set_permissions(
                dir.join("server.key"),
                std::fs::Permissions::from_mode(0o600),
            )
            .expect("the key's mode");
            settings.extend([
                "ssl=on".to_string(),
                format!("ssl_cert_file={}", dir.join("server.crt").display()),
                format!("ssl_key_file={}", dir.join("server.key").display()),
            ]);
        }
        if root {
            let chown = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .expect("chown");
            assert!(chown.success(), "cannot hand {} to postgres", dir.display());
        }
        let data = dir.join("data");
        let init = as_server_user(&bin.join("initdb"), root)
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&data)
            .stdout(Stdio::null())
            .output()
            .expect("initdb runs");
        assert!(
            init.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        let port = free_port();
        let server = as_server_user(&bin.join("postgres"), root)
            .arg("-D")
            .arg(&data)
            .args([
                "-p",
                &port.to_string(),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
            ])
            .arg(format!("unix_socket_directories={}", dir.display()))
            .args(["-c", "fsync=off"])
            .args(settings.iter().flat_map(|s| ["-c", s.as_str()]))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("postgres starts");
        let pg = Postgres {
            url: format!("postgres://postgres@127.0.0.1:{port}/vexil_test"),
            server: Some(Server {
                child: server,
                dir,
                bin: bin.clone(),
                root,
            }),
        };
        pg.wait_ready(&bin, port);
        let created = pg.psql_on("postgres", "CREATE DATABASE vexil_test");
        assert!(created.is_ok(), "creating the test database: {created:?}");
        pg
    }

    fn wait_ready(&self, bin: &Path, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = Command::new(bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-q"])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "PostgreSQL did not start within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs `sql` with `psql` on `database` of this server; its output (tuples only).
    pub fn psql_on(&self, database: &str, sql: &str) -> Result<String, String> {
        let url = self.url_of(database);
        let out = Command::new("psql")
            .args([
                url.as_str(),
                "-X",
                "-q",
                "-t",
                "-A",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ])
            .output()
            .map_err(|e| format!("psql: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
    }

    /// Has a watchdog stop our server (immediately) and remove its directory once
    /// this process has exited; nothing to do for the caller's server.
    fn stop_when_this_process_exits(&self) {
        let Some(server) = &self.server else {
            return;
        };
        let stop = as_server_user(&server.bin.join("pg_ctl"), server.root);
        let stop = format!(
            "{} -D '{}' stop -m immediate -w",
            std::iter::once(stop.get_program())
                .chain(stop.get_args())
                .map(|a| format!("'{}'", a.to_string_lossy()))
                .collect::<Vec<_>>()
                .join(" "),
            server.dir.join("data").display()
        );
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {stop} >/dev/null 2>&1; rm -rf '{dir}'",
            pid = std::process::id(),
            dir = server.dir.display()
        );
        // Never waited for: it outlives this process, which is the point.
        #[allow(clippy::zombie_processes)]
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the watchdog starts");
    }

    /// A new empty database `name` on this server (dropped first if a run before
    /// left it); its URL.
    pub fn create_database(&self, name: &str) -> String {
        let made = self
            .psql_on("postgres", &format!("DROP DATABASE IF EXISTS {name}"))
            .and_then(|_| self.psql_on("postgres", &format!("CREATE DATABASE {name}")));
        assert!(made.is_ok(), "creating database {name}: {made:?}");
        self.url_of(name)
    }

    /// The URL of `database` on this server.
    pub fn url_of(&self, database: &str) -> String {
        match self.url.rfind('/') {
            Some(at) => format!("{}/{database}", &self.url[..at]),
            None => self.url.clone(),
        }
    }

    /// Runs `sql` on the test database.
    pub fn psql(&self, sql: &str) -> Result<String, String> {
        let database = self
            .url
            .rsplit('/')
            .next()
            .unwrap_or("vexil_test")
            .to_string();
        self.psql_on(&database, sql)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(mut server) = self.server.take() {
            // An immediate stop: the data is thrown away anyway.
            let _ = as_server_user(&server.bin.join("pg_ctl"), server.root)
                .arg("-D")
                .arg(server.dir.join("data"))
                .args(["stop", "-m", "immediate", "-w"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let _ = server.child.kill();
            let _ = server.child.wait();
            let _ = std::fs::remove_dir_all(&server.dir);
        }
    }
}
