import type { Kysely } from "kysely";
import type { Database } from "./schema.js";
import type { Instant } from "./time.js";
import { iso } from "./time.js";

/**
 * An account's usage as the store knows it, for the operator's `account list`. The operator's
 * command runs in its own process and sees no node's memory, so what is live now comes from
 * the audit, bounded by each device's `last_seen` (renewed every minute while its tunnel is
 * held): a node killed with tunnels up leaves nothing counted online for long.
 */
export interface AccountUsage {
  users: number;
  devices: number;
  /** Devices whose last tunnel record is "tunnel.up", seen within `seenSince`. */
  online: number;
  /** Streams with a "stream.open" record and no closing "stream" record yet, on a device online now. */
  streams: number;
  /** Bytes of the streams that closed since `bytesSince` (all when absent), each way. */
  bytesUp: number;
  bytesDown: number;
}

/** Options of {@link accountUsage}. */
export interface UsageWindow {
  /** A device last seen before this is not online, whatever its last tunnel record says. */
  seenSince: Instant;
  /** Count only the bytes of streams that closed at or after this. */
  bytesSince?: Instant | undefined;
}

const EMPTY: AccountUsage = { users: 0, devices: 0, online: 0, streams: 0, bytesUp: 0, bytesDown: 0 };

/** Usage per account id; an account with nothing has no entry (read it as all zeros). */
export async function accountUsage(db: Kysely<Database>, window: UsageWindow): Promise<Map<string, AccountUsage>> {
  const usage = new Map<string, AccountUsage>();
  const of = (id: string): AccountUsage => {
    let u = usage.get(id);
    if (!u) {
      u = { ...EMPTY };
      usage.set(id, u);
    }
    return u;
  };
  const users = await db
    .selectFrom("users")
    .select(["account_id", (eb) => eb.fn.countAll<number | string>().as("n")])
    .groupBy("account_id")
    .execute();
  for (const r of users) of(r.account_id).users = Number(r.n);
  const devices = await db.selectFrom("devices").select(["account_id", "name", "last_seen"]).execute();
  const seenRecently = new Set<string>();
  for (const d of devices) {
    of(d.account_id).devices++;
    if (d.last_seen !== null && d.last_seen >= iso(window.seenSince)) seenRecently.add(key(d.account_id, d.name));
  }
  const online = await onlineDevices(db, seenRecently);
  for (const k of online) of(accountOf(k)).online++;
  for (const s of await openStreams(db)) if (online.has(key(s.account_id, s.device))) of(s.account_id).streams++;
  let bytes = db
    .selectFrom("audit")
    .select(["account_id", (eb) => eb.fn.sum<number | string | null>("bytes_up").as("up"), (eb) => eb.fn.sum<number | string | null>("bytes_down").as("down")])
    .where("action", "=", "stream")
    .where("account_id", "is not", null)
    .where("ended_at", "is not", null);
  if (window.bytesSince !== undefined) bytes = bytes.where("ended_at", ">=", iso(window.bytesSince));
  for (const r of await bytes.groupBy("account_id").execute()) {
    const u = of(r.account_id!);
    u.bytesUp = Number(r.up ?? 0);
    u.bytesDown = Number(r.down ?? 0);
  }
  return usage;
}

function key(accountId: string, device: string | null): string {
  return JSON.stringify([accountId, device]);
}

function accountOf(k: string): string {
  return (JSON.parse(k) as [string, string])[0];
}

/** The devices (as keys) among `candidates` whose newest tunnel record says "up". */
async function onlineDevices(db: Kysely<Database>, candidates: ReadonlySet<string>): Promise<Set<string>> {
  if (candidates.size === 0) return new Set();
  const last = db
    .selectFrom("audit")
    .select(["account_id", "device", (eb) => eb.fn.max("seq").as("seq")])
    .where("action", "in", ["tunnel.up", "tunnel.down"])
    .where("account_id", "is not", null)
    .groupBy(["account_id", "device"])
    .as("last");
  const rows = await db
    .selectFrom(last)
    .innerJoin("audit", (j) => j.onRef("audit.account_id", "=", "last.account_id").onRef("audit.seq", "=", "last.seq"))
    .select(["last.account_id", "last.device", "audit.action"])
    .execute();
  const online = new Set<string>();
  for (const r of rows) {
    const k = key(r.account_id!, r.device);
    if (r.action === "tunnel.up" && candidates.has(k)) online.add(k);
  }
  return online;
}

/** Streams opened (a "stream.open" record) and not yet closed (no "stream" record of the same id). */
async function openStreams(db: Kysely<Database>): Promise<{ account_id: string; device: string | null }[]> {
  const rows = await db
    .selectFrom("audit")
    .select([
      "account_id",
      "object",
      (eb) => eb.fn.max("device").as("device"),
      (eb) => eb.fn.sum<number | string>(eb.case().when("action", "=", "stream.open").then(1).else(0).end()).as("opens"),
      (eb) => eb.fn.sum<number | string>(eb.case().when("action", "=", "stream").then(1).else(0).end()).as("closes"),
    ])
    .where("action", "in", ["stream.open", "stream"])
    .where("account_id", "is not", null)
    .where("object", "is not", null)
    .groupBy(["account_id", "object"])
    .execute();
  return rows.filter((r) => Number(r.opens) > 0 && Number(r.closes) === 0).map((r) => ({ account_id: r.account_id!, device: r.device }));
}
