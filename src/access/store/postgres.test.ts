import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import net from "node:net";
import { after, test } from "node:test";
import { sql } from "kysely";
import pg from "pg";
import { openPostgres } from "./postgres.js";
import { POSTGRES_URL } from "./store-fixture.js";

/** A TCP hop in front of PostgreSQL whose connections the test can cut, as a failed network would. */
async function cuttableLink(): Promise<{ url: URL; cut: () => void; close: () => Promise<void> }> {
  const target = new URL(POSTGRES_URL);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: target.hostname, port: Number(target.port || 5432) });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = new URL(POSTGRES_URL);
  url.port = String((server.address() as net.AddressInfo).port);
  return {
    url,
    cut: () => {
      for (const s of sockets) s.destroy();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

test("a PostgreSQL connection lost under a running query fails that query, not the process, and the next query connects again", async () => {
  const link = await cuttableLink();
  const schema = `fernlink_test_${randomBytes(6).toString("hex")}`;
  const url = new URL(link.url);
  url.searchParams.set("schema", schema);
  const store = await openPostgres(url);
  after(async () => {
    await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(store.db);
    await store.close();
    await link.close();
  });
  // A checked-out connection: pg's client emits "error" at the loss, which nobody hears but us.
  const running = sql`select pg_sleep(10) as fernlink_cut_probe`.execute(store.db);
  const watcher = new pg.Client({ connectionString: POSTGRES_URL });
  await watcher.connect();
  try {
    for (let tries = 0; ; tries++) {
      const { rowCount } = await watcher.query("select 1 from pg_stat_activity where state = 'active' and query like '%as fernlink_cut_probe'");
      if (rowCount) break;
      assert.ok(tries < 200, "the query did not start within 10 s");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await watcher.end();
  }
  link.cut();
  await assert.rejects(running, /Connection terminated/);
  const { rows } = await sql<{ one: number }>`select 1 as one`.execute(store.db);
  assert.deepEqual(rows, [{ one: 1 }]);
});
