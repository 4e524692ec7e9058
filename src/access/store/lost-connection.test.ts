import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { sql } from "kysely";
import { openDatabase } from "./dialects.js";
import type { Store } from "./store.js";

/**
 * PostgreSQL going away in the middle of a query: the query fails, the process lives on, and
 * the next query after the database is back succeeds. A TCP hop the test can cut stands in for
 * the database host failing.
 */

const POSTGRES_PORT = Number(new URL(process.env["FERNLINK_TEST_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/test").port || 5432);

/** A TCP hop to PostgreSQL whose connections can be cut, all at once. */
class Hop {
  private readonly sockets = new Set<net.Socket>();
  private readonly server = net.createServer((client) => {
    const upstream = net.connect({ host: "127.0.0.1", port: POSTGRES_PORT });
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => this.sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  cut(): void {
    for (const s of this.sockets) s.destroy();
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const schema = `fernlink_lost_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const dir = await mkdtemp(join(tmpdir(), "fernlink-lost-"));
const hop = new Hop();
let store: Store;

before(async () => {
  const port = await hop.listen();
  store = await openDatabase({ url: `postgres://postgres@127.0.0.1:${port}/test?schema=${schema}`, dataDir: dir });
});
after(async () => {
  await sql.raw(`drop schema if exists ${schema} cascade`).execute(store.db);
  await store.close();
  await hop.close();
  await rm(dir, { recursive: true, force: true });
});

test("a connection lost while a query runs fails that query, and the process and the pool live on", async () => {
  const running = sql`select pg_sleep(5)`.execute(store.db);
  // Long enough for the query to be on the wire, far shorter than it takes.
  await new Promise((resolve) => setTimeout(resolve, 300));
  hop.cut();
  await assert.rejects(running);
  // An "error" event of the lost client nobody listens to would have ended this process by now.
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal((await sql<{ n: number }>`select 1 as n`.execute(store.db)).rows[0]?.n, 1);
});

test("connections lost while a transaction holds them do the same", async () => {
  const running = store.db.transaction().execute(async (trx) => {
    await sql`select 1`.execute(trx);
    await sql`select pg_sleep(5)`.execute(trx);
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
  hop.cut();
  await assert.rejects(running);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal((await sql<{ n: number }>`select 1 as n`.execute(store.db)).rows[0]?.n, 1);
});
