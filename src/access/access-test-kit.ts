import { createSecretKey, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import type { LiveStream } from "../protocol/relay-access.js";
import { BackgroundWork } from "../shared/background-work.js";
import { createLogger } from "../shared/log.js";
import { auditAggregate } from "./audit-log.js";
import { loadOrCreateCa } from "./ca.js";
import { createChangeFeed } from "./change-feed.js";
import type { AccessContext, TunnelInfo } from "./context.js";
import { loginCheckLimit } from "./login-guard.js";
import { lowerPasswordCostForTests } from "./password.js";
import { REFUSAL_AGGREGATION, RefusalAggregator } from "./refusal-aggregator.js";
import { openDatabase, type Store } from "./store/index.js";

// Every test that opens an access service here hashes passwords at a test's cost, not a plant's.
lowerPasswordCostForTests();

/** Test PostgreSQL server (trust auth); each test context works in a fresh schema of it. */
const POSTGRES_URL = process.env["FERNLINK_TEST_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";

/** The backends the access-service tests run on. */
export const TEST_BACKENDS = ["SQLite", "PostgreSQL"] as const;

/** An access context over a fresh database, with a clock the test moves and a record of cut streams. */
export interface TestAccess {
  ctx: AccessContext;
  store: Store;
  /** Moves the clock by `ms` (forward; a negative `ms` puts it back). */
  advance(ms: number): void;
  /** Stream ids `presence.cutStream` was called with. */
  cut: string[];
  /** Device ids `presence.disconnect` was called with. */
  disconnected: string[];
  /** What the fake presence reports, of any account (filtered per account); a cut stream leaves `streams`. */
  live: { streams: LiveStream[]; tunnels: (TunnelInfo & { accountId: string })[] };
  close(): Promise<void>;
}

/** Opens a migrated database on `backend` and an access context for it; `close()` removes it all. */
export async function openTestAccess(backend: (typeof TEST_BACKENDS)[number], start = new Date("2030-01-01T00:00:00Z")): Promise<TestAccess> {
  const dir = await mkdtemp(join(tmpdir(), "fernlink-access-"));
  const schema = `fernlink_test_${randomBytes(6).toString("hex")}`;
  const store = await openDatabase(backend === "SQLite" ? { dataDir: dir } : { dataDir: dir, url: `${POSTGRES_URL}?schema=${schema}` });
  let clock = start;
  const cut: string[] = [];
  const disconnected: string[] = [];
  const live: TestAccess["live"] = { streams: [], tunnels: [] };
  const ofAccount = <T extends { accountId: string }>(items: T[], accountId: string): T[] => items.filter((i) => i.accountId === accountId);
  const streamsOf = (accountId?: string): LiveStream[] => live.streams.filter((s) => accountId === undefined || s.grant.accountId === accountId);
  const ctx: AccessContext = {
    db: store.db,
    ca: await loadOrCreateCa(dir, { now: start }),
    presence: {
      status: () => undefined,
      disconnect: (id) => void disconnected.push(id),
      streams: streamsOf,
      cutStream: (id) => {
        cut.push(id);
        live.streams = live.streams.filter((s) => s.streamId !== id);
      },
      tunnels: (accountId) => ofAccount(live.tunnels, accountId),
      relays: (accountId) => [{ id: "relay-1", tunnels: ofAccount(live.tunnels, accountId).length, streams: streamsOf(accountId).length }],
    },
    assignRelay: (_id, host) => [{ id: "relay-1", name: "relay-1", host: host ?? "localhost", port: 443 }],
    now: () => clock,
    log: createLogger("test", { level: "error" }),
    work: new BackgroundWork(),
    auditKey: createSecretKey(randomBytes(32)),
    secretKey: createSecretKey(randomBytes(32)),
    changes: createChangeFeed(),
    loginChecks: loginCheckLimit(),
    refusals: new RefusalAggregator(
      (r) => auditAggregate(ctx, r),
      REFUSAL_AGGREGATION,
      () => clock,
    ),
  };
  return {
    ctx,
    store,
    cut,
    disconnected,
    live,
    advance: (ms) => {
      clock = new Date(clock.getTime() + ms);
    },
    close: async () => {
      ctx.changes.close();
      ctx.refusals.flush();
      await ctx.work.drain(5_000);
      if (backend === "PostgreSQL") await sql`drop schema ${sql.id(schema)} cascade`.execute(store.db);
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
