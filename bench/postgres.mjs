// A throwaway PostgreSQL server for benchmarks, as tests/support/postgres.rs starts one
// for the Rust tests: `initdb` in a temp directory (as the `postgres` user when run as
// root: PostgreSQL refuses root), `postgres` on a free port of 127.0.0.1, removed by
// `await stop()`. The binaries come from Debian's `postgresql` package (`make setup-test`).
// `VEXIL_BENCH_DATABASE_URL` uses a server of your own instead (its database must be
// empty).
import { execFileSync, spawn } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The newest `/usr/lib/postgresql/<major>/bin`, or null. */
function binDir() {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return null;
  const majors = readdirSync(root)
    .map((m) => join(root, m, "bin"))
    .filter((d) => existsSync(join(d, "initdb")))
    .sort((a, b) => Number(a.split("/").at(-2)) - Number(b.split("/").at(-2)));
  return majors.at(-1) ?? null;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts a server with an empty database `vexil_bench`: `{url, stop()}`. */
export async function startPostgres() {
  if (process.env.VEXIL_BENCH_DATABASE_URL) return { url: process.env.VEXIL_BENCH_DATABASE_URL, async stop() {} };
  const bin = binDir();
  if (bin === null) throw new Error("PostgreSQL is not installed: `make setup-test` installs it, or set VEXIL_BENCH_DATABASE_URL");
  const root = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), "vexil-bench-pg-"));
  if (root) {
    const { uid, gid } = userIds("postgres");
    chownSync(dir, uid, gid);
  }
  const asServer = (program, args) => (root ? ["runuser", ["-u", "postgres", "--", join(bin, program), ...args]] : [join(bin, program), args]);
  const data = join(dir, "data");
  execFileSync(...asServer("initdb", ["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "-D", data]), { stdio: "ignore" });
  const port = await freePort();
  const server = spawn(
    ...asServer("postgres", ["-D", data, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-c", `unix_socket_directories=${dir}`, "-c", "max_connections=200"]),
    { stdio: "ignore" },
  );
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      execFileSync(join(bin, "pg_isready"), ["-h", "127.0.0.1", "-p", String(port), "-q"], { stdio: "ignore" });
      break;
    } catch {
      if (Date.now() > deadline) throw new Error("PostgreSQL did not start within 30 s");
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  execFileSync("psql", [`postgres://postgres@127.0.0.1:${port}/postgres`, "-X", "-q", "-c", "CREATE DATABASE vexil_bench"], { stdio: "ignore" });
  return {
    url: `postgres://postgres@127.0.0.1:${port}/vexil_bench`,
    async stop() {
      // `runuser` does not pass signals on: pg_ctl stops the server itself.
      const exited = new Promise((r) => server.once("exit", r));
      execFileSync(...asServer("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]), { stdio: "ignore" });
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function userIds(name) {
  const out = execFileSync("id", [name], { encoding: "utf8" });
  return { uid: Number(/uid=(\d+)/.exec(out)[1]), gid: Number(/gid=(\d+)/.exec(out)[1]) };
}
