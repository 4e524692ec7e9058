import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import pg from "pg";
import { echoVia, Site } from "./helpers/fernlink.js";
import { assertExit, Sandbox, waitUntil } from "./helpers/processes.js";
import { startEchoServer, type Target } from "./helpers/targets.js";

/**
 * The tamper-evident audit through real processes, on SQLite and on PostgreSQL: logins,
 * changes and streams are recorded, `audit verify` passes and prints the head, a record
 * altered directly in the database makes it exit 1 naming that record, and
 * `report connections --csv` shows the stream.
 */

const BASE = process.env["FERNLINK_TEST_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const ACME = { account: "acme", user: "alice" };
const MEMBER_PASSWORD = "Vq7-rT2#mPz9-kettle-orbit";
const PAYLOAD = "hello through the chained audit\n";

/** `audit --json` records, with the fields this test reads. */
interface AuditEntry {
  seq: number;
  id: string;
  actor: string | null;
  action: string;
  result: string;
  device: string | null;
  target: string | null;
  startedAt: string | null;
  endedAt: string | null;
  bytesUp: number | null;
  bytesDown: number | null;
}

interface Backend {
  name: string;
  /** `--db` URL, or undefined for SQLite in the data directory. */
  db(schema: string): string | undefined;
  /** Runs one statement directly on the server's database, behind its back. */
  tamper(site: Site, schema: string, statement: string, params: unknown[]): Promise<void>;
  drop(schema: string): Promise<void>;
}

async function withPg<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: BASE });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const BACKENDS: Backend[] = [
  {
    name: "SQLite",
    db: () => undefined,
    async tamper(site, _schema, statement, params) {
      const db = new Database(join(site.dataDir, "fernlink.db"));
      try {
        db.pragma("busy_timeout = 5000");
        db.prepare(statement.replace(/\$\d+/g, "?")).run(...params);
      } finally {
        db.close();
      }
    },
    drop: async () => {},
  },
  {
    name: "PostgreSQL",
    db: (schema) => `${BASE}?schema=${schema}`,
    tamper: (_site, schema, statement, params) =>
      withPg(async (client) => {
        await client.query(`set search_path to "${schema}"`);
        await client.query(statement, params);
      }),
    drop: (schema) =>
      withPg(async (client) => {
        await client.query(`drop schema if exists "${schema}" cascade`);
      }),
  },
];

for (const backend of BACKENDS) {
  describe(`the tamper-evident audit on ${backend.name}`, () => {
    const schema = `fernlink_audit_${randomBytes(5).toString("hex")}`;
    let sb: Sandbox;
    let site: Site;
    let echo: Target;

    const audit = async (args: string[] = []): Promise<AuditEntry[]> =>
      JSON.parse(await site.ok("alice", ["audit", "--json", "--limit", "1000", ...args])) as AuditEntry[];

    before(async () => {
      sb = await Sandbox.create(`audit-${backend.name.toLowerCase()}`);
      sb.defer(() => backend.drop(schema));
      echo = await startEchoServer();
      sb.defer(echo.close);
      const db = backend.db(schema);
      site = await Site.start(sb, [ACME], db ? { db } : {});
      await site.login(ACME);
      const state = await site.register(await site.addDevice("alice", "press-7"), "agent");
      await site.startAgent(state);
      await site.waitForDevice("alice", "press-7", true);
      const conn = await site.connect("alice", "press-7", [`127.0.0.1:${echo.port}`]);
      assert.equal(await echoVia(conn, PAYLOAD), PAYLOAD);
      assert.equal((await conn.proc.stop("SIGTERM")).code, 0);
    });
    after(() => sb?.cleanup());

    test("logins, changes and the stream are recorded, the stream once with its start, end and bytes", async () => {
      const records = await waitUntil("the stream's closing record is written", async () => {
        const all = await audit();
        return all.some((r) => r.action === "stream" && r.endedAt !== null) ? all : undefined;
      });
      const actions = new Set(records.map((r) => r.action));
      for (const a of ["account.init", "login", "device.add", "device.register", "tunnel.up", "stream.open", "stream"])
        assert.ok(actions.has(a), `audit has ${a}`);
      const streams = records.filter((r) => r.action === "stream");
      assert.equal(streams.length, 1);
      const [s] = streams;
      assert.deepEqual([s!.actor, s!.device, s!.target, s!.result], ["alice", "press-7", `127.0.0.1:${echo.port}`, "ok"]);
      assert.deepEqual([s!.bytesUp, s!.bytesDown], [PAYLOAD.length, PAYLOAD.length]);
      assert.ok(Date.parse(s!.startedAt!) <= Date.parse(s!.endedAt!));
      const filtered = await audit(["--user", "alice", "--device", "press-7", "--since", s!.startedAt!]);
      assert.ok(filtered.some((r) => r.seq === s!.seq));
      assert.ok(filtered.every((r) => r.actor === "alice" && r.device === "press-7"));
    });

    test("report connections --csv has the stream with its duration and bytes", async () => {
      const csv = await site.ok("alice", ["report", "connections", "--csv"]);
      const lines = csv.split("\r\n");
      assert.equal(lines[0], "user,source,device,target,start,end,duration_s,bytes_up,bytes_down,reason,note");
      const row = lines.find((l) => l.includes(`,press-7,127.0.0.1:${echo.port},`));
      assert.ok(row, `the stream is in the report:\n${csv}`);
      const cells = row.split(",");
      assert.equal(cells[0], "alice");
      assert.ok(Number(cells[6]) >= 0);
      assert.deepEqual(cells.slice(7, 9).map(Number), [PAYLOAD.length, PAYLOAD.length]);
    });

    test("a member is refused the audit with forbidden, and the refusal is audited", async () => {
      assertExit(await site.cli("alice", ["user", "add", "max", "--role", "member"], { env: { FERNLINK_NEW_PASSWORD: MEMBER_PASSWORD } }), 0);
      const login = await site.cli("max", ["login", "--server", site.url, "--ca", site.ca, "--account", "acme", "--user", "max"], {
        env: { FERNLINK_PASSWORD: MEMBER_PASSWORD },
      });
      assertExit(login, 0);
      assertExit(await site.cli("max", ["audit"]), 1, /^fernlink: only an account admin may/);
      assertExit(await site.cli("max", ["audit", "verify"]), 1, /^fernlink: only an account admin may/);
      assertExit(await site.cli("max", ["report", "connections"]), 1, /^fernlink: only an account admin may/);
      const refusals = (await audit(["--user", "max"])).filter((r) => r.result === "denied");
      assert.deepEqual(refusals.map((r) => r.action).sort(), ["audit.list", "audit.verify", "report.connections"]);
    });

    test("audit verify passes and prints the head, then names a record altered in the database and exits 1", async () => {
      const ok = await site.cli("alice", ["audit", "verify"]);
      assertExit(ok, 0);
      assert.match(ok.stdout, /^audit chain of account "acme": OK, \d+ records verified$/m);
      const head = /^head: seq (\d+) hash ([0-9a-f]{64})$/m.exec(ok.stdout);
      assert.ok(head, ok.stdout);

      const login = (await audit()).find((r) => r.action === "login" && r.actor === "alice")!;
      await backend.tamper(site, schema, "update audit set actor = $1 where seq = $2", ["mallory", login.seq]);

      const broken = await site.cli("alice", ["audit", "verify"]);
      assertExit(
        broken,
        1,
        new RegExp(`^fernlink: the audit chain of account "acme" is broken: record seq ${login.seq} \\(login by mallory .*id ${login.id}\\) is altered: `),
      );
      const json = await site.cli("alice", ["audit", "verify", "--json"]);
      assert.equal(json.code, 1);
      const verdict = JSON.parse(json.stdout) as { ok: boolean; problem: { kind: string; seq: number } };
      assert.deepEqual([verdict.ok, verdict.problem.kind, verdict.problem.seq], [false, "altered", login.seq]);
    });
  });
}
