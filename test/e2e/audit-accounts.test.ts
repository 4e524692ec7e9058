import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import http2 from "node:http2";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { SYSTEM_CHAIN } from "../../src/access/audit-chain.js";
import { loadOrCreateAuditKey } from "../../src/access/audit-key.js";
import { verifyStoredChain } from "../../src/access/audit-queries.js";
import { openDatabase } from "../../src/access/store/dialects.js";
import { Site } from "./helpers/fernlink.js";
import { Sandbox } from "./helpers/processes.js";

/**
 * The audit of a real server under a flood and with two accounts: refusals of unauthenticated
 * requests are aggregated per source and reason, so a flood writes a handful of rows with
 * counts; and each account's records are numbered 1, 2, 3 … on their own, so no account's
 * audit shows how busy another is.
 */

const ACME = { account: "acme", user: "alice" };
const BETA = { account: "beta", user: "bea" };
const FLOOD = 2000;

/** `audit --json` records, with the fields this test reads. */
interface Entry {
  seq: number;
  id: string;
  action: string;
  result: string;
  reason: string | null;
  source: string | null;
  count?: number;
}

/** One stored audit row, read directly from the database file. */
interface StoredRow {
  seq: number;
  account_id: string | null;
  action: string;
  source: string | null;
  reason: string | null;
  count?: number | null;
}

/** Sends `count` requests over one HTTP/2 connection, 32 at a time; `one` sends one and resolves with its status. */
async function flood(site: Site, count: number, one: (session: http2.ClientHttp2Session) => Promise<number>): Promise<number[]> {
  const ca = await readFile(site.ca, "utf8");
  const session = http2.connect(site.url, { ca, ALPNProtocols: ["h2"] });
  session.on("error", () => {});
  const statuses: number[] = [];
  try {
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < count) {
          next++;
          statuses.push(await one(session));
        }
      }),
    );
  } finally {
    session.close();
  }
  return statuses;
}

/** POSTs `count` registrations with made-up activation keys. */
function refusedRegistrations(site: Site, count: number, key: () => string): Promise<number[]> {
  return flood(
    site,
    count,
    (session) =>
      new Promise((resolve, reject) => {
        const req = session.request({ ":method": "POST", ":path": "/api/v1/agent/register", "content-type": "application/json" });
        let status = 0;
        req.on("response", (h) => (status = Number(h[":status"])));
        req.on("error", reject);
        req.resume();
        req.on("end", () => resolve(status));
        req.end(JSON.stringify({ activationKey: key(), csr: "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----" }));
      }),
  );
}

/** Sends `count` CONNECT streams with made-up bearer tokens. */
function refusedConnects(site: Site, count: number): Promise<number[]> {
  return flood(
    site,
    count,
    (session) =>
      new Promise((resolve) => {
        const stream = session.request({
          ":method": "CONNECT",
          ":authority": "127.0.0.1:502",
          "fernlink-device": "press-9",
          authorization: `Bearer flk_${randomBytes(16).toString("hex")}`,
        });
        stream.on("error", () => resolve(0));
        stream.on("response", (h) => {
          resolve(Number(h[":status"]));
          // Ended, not reset: the server ends a connection whose client resets too many streams.
          stream.end();
        });
      }),
  );
}

function storedRows(site: Site, where: string): StoredRow[] {
  const db = new Database(join(site.dataDir, "fernlink.db"), { readonly: true });
  try {
    return db.prepare(`select * from audit where ${where}`).all() as StoredRow[];
  } finally {
    db.close();
  }
}

describe("the audit of a server with two accounts under a flood of refusals", () => {
  let sb: Sandbox;
  let site: Site;

  // Read and verified through the REST API (what `audit --json` and `audit verify --json` print),
  // without a CLI start each; the CLI's verdict on a broken chain is checked in the last test.
  const audit = async (user: string): Promise<Entry[]> => (await site.audit(user, 10_000)) as unknown as Entry[];
  const verifyHead = async (user: string): Promise<{ seq: number; records: number }> => {
    const v = (await site.apiOk(user, "GET", "/api/v1/audit/verify")) as { ok: boolean; records: number; head: { seq: number; count: number } };
    assert.equal(v.ok, true);
    return { seq: v.head.seq, records: v.records };
  };
  /** `device add NAME` as `user` through the REST API: activity for the audit, not under test itself. */
  const addDevice = async (user: string, name: string): Promise<void> => {
    const { activationKey } = (await site.apiOk(user, "POST", "/api/v1/devices", { name })) as { activationKey: string };
    sb.noteSecret("activation key", activationKey);
  };

  before(async () => {
    sb = await Sandbox.create("audit-accounts");
    site = await Site.start(sb, [ACME, BETA]);
    await site.login(ACME);
    await site.login(BETA);
  });
  after(() => sb?.cleanup());

  test(`${FLOOD} refused registrations from one source write a handful of rows whose counts add up to ${FLOOD}`, async () => {
    // Half with keys that never existed (no account), half with a used key of an acme device.
    const used = await site.addDevice("alice", "press-9");
    await site.register(used, "agent-9");
    let n = 0;
    const started = Date.now();
    const statuses = await refusedRegistrations(site, FLOOD, () => (n++ % 2 === 0 ? `BAD${randomBytes(8).toString("hex")}` : used));
    const burstMs = Date.now() - started;
    assert.equal(statuses.length, FLOOD);
    assert.ok(
      statuses.every((s) => s === 401 || s === 403 || s === 409 || s === 400 || s === 410),
      `all refused: ${[...new Set(statuses)].join(",")}`,
    );
    // Stopping the server writes the aggregates still being counted.
    await site.restartServer();
    const rows = storedRows(site, "action = 'device.register' and result = 'denied'");
    const total = rows.reduce((sum, r) => sum + (r.count ?? 1), 0);
    console.log(`${FLOOD} refused registrations in ${burstMs} ms wrote ${rows.length} audit rows (counts add up to ${total})`);
    assert.ok(rows.length <= 8, `at most a handful of rows, got ${rows.length}`);
    assert.equal(total, FLOOD);
    assert.ok(rows.every((r) => r.source === rows[0]!.source));
    // The half with the acme device's used key is in acme's chain, where its admins see it.
    const acmeRefusals = (await audit("alice")).filter((r) => r.action === "device.register" && r.result === "denied");
    assert.equal(
      acmeRefusals.reduce((sum, r) => sum + (r.count ?? 1), 0),
      FLOOD / 2,
    );
    assert.ok(
      acmeRefusals.some((r) => (r.count ?? 1) > 1),
      "the acme refusals are aggregated into a row with a count",
    );
    await verifyHead("alice");
    // The half with unknown keys is in the system chain, which no account's admin verifies: check it here.
    const store = await openDatabase({ dataDir: site.dataDir });
    try {
      const report = await verifyStoredChain(store.db, (await loadOrCreateAuditKey(site.dataDir)).key, SYSTEM_CHAIN);
      assert.equal(report.problem, undefined);
      assert.ok(report.records >= 2 && report.records <= 4, `${report.records} system records`);
    } finally {
      await store.close();
    }
  });

  test(`${FLOOD} CONNECT streams with made-up tokens write a handful of rows whose counts add up to ${FLOOD}`, async () => {
    const statuses = await refusedConnects(site, FLOOD);
    assert.ok(
      statuses.every((s) => s === 401),
      `all refused as unauthenticated: ${[...new Set(statuses)].join(",")}`,
    );
    await site.restartServer();
    const rows = storedRows(site, "action = 'stream' and result = 'denied'");
    const total = rows.reduce((sum, r) => sum + (r.count ?? 1), 0);
    assert.ok(rows.length <= 30, `at most a few dozen rows, got ${rows.length}`);
    assert.equal(total, FLOOD);
  });

  test("each account numbers its records 1..n without gaps, and neither shows the other's volume", async () => {
    const before = { acme: await verifyHead("alice"), beta: await verifyHead("bea") };
    // Interleaved activity: beta does much more than acme.
    for (let i = 0; i < 3; i++) {
      await addDevice("alice", `acme-${i}`);
      for (let j = 0; j < 4; j++) await addDevice("bea", `beta-${i}-${j}`);
    }
    for (const user of ["alice", "bea"]) {
      const seqs = (await audit(user)).map((r) => r.seq).sort((a, b) => a - b);
      assert.deepEqual(
        seqs,
        Array.from({ length: seqs.length }, (_, i) => i + 1),
        `${user}'s records are numbered 1..${seqs.length}`,
      );
    }
    const acme = await verifyHead("alice");
    const beta = await verifyHead("bea");
    // Each head moved by exactly the account's own new records: nothing of the other shows.
    const acmeNew = (await audit("alice")).filter((r) => r.seq > before.acme.seq && r.seq <= acme.seq).length;
    const betaNew = (await audit("bea")).filter((r) => r.seq > before.beta.seq && r.seq <= beta.seq).length;
    console.log(`acme's head moved by ${acme.seq - before.acme.seq} for ${acmeNew} records of its own; beta's by ${beta.seq - before.beta.seq} for ${betaNew}`);
    assert.equal(acme.seq - before.acme.seq, acmeNew);
    assert.equal(beta.seq - before.beta.seq, betaNew);
    assert.ok(betaNew >= 12 && acmeNew >= 3);
    assert.equal(acme.records, acme.seq);
  });

  test("after the flood and the renumbering, a record altered in the database is still found", async () => {
    const target = (await audit("alice")).find((r) => r.action === "device.add")!;
    const db = new Database(join(site.dataDir, "fernlink.db"));
    try {
      db.pragma("busy_timeout = 5000");
      db.prepare("update audit set reason = 'edited' where id = ?").run(target.id);
    } finally {
      db.close();
    }
    const broken = await site.cli("alice", ["audit", "verify", "--json"]);
    assert.equal(broken.code, 1);
    const verdict = JSON.parse(broken.stdout) as { ok: boolean; problem: { kind: string; seq: number } };
    assert.deepEqual([verdict.ok, verdict.problem.kind, verdict.problem.seq], [false, "altered", target.seq]);
  });
});
