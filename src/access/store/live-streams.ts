import type { Kysely, Selectable } from "kysely";
import type { Database, LiveStreamsTable } from "./schema.js";
import { type Instant, iso } from "./time.js";

export type LiveStreamRow = Selectable<LiveStreamsTable>;
export type LiveStreamValues = Omit<LiveStreamRow, "node_id" | "heartbeat_at">;

/**
 * Replaces what the store holds of `nodeId`'s streams with `streams` (their counts as of
 * `now`): one batch per heartbeat, however many streams started and ended meanwhile.
 */
export async function syncLiveStreams(db: Kysely<Database>, nodeId: string, streams: readonly LiveStreamValues[], now: Instant): Promise<void> {
  const at = iso(now);
  await db.transaction().execute(async (trx) => {
    for (let i = 0; i < streams.length; i += 500) {
      const rows = streams.slice(i, i + 500).map((s) => ({ ...s, node_id: nodeId, heartbeat_at: at }));
      await trx
        .insertInto("live_streams")
        .values(rows)
        .onConflict((oc) =>
          oc.column("stream_id").doUpdateSet((eb) => ({
            bytes_up: eb.ref("excluded.bytes_up"),
            bytes_down: eb.ref("excluded.bytes_down"),
            heartbeat_at: eb.ref("excluded.heartbeat_at"),
          })),
        )
        .execute();
    }
    await trx.deleteFrom("live_streams").where("node_id", "=", nodeId).where("heartbeat_at", "<", at).execute();
  });
}

/** Every stream renewed at `freshSince` or later. */
export async function listLiveStreams(db: Kysely<Database>, freshSince: Instant): Promise<LiveStreamRow[]> {
  return db.selectFrom("live_streams").selectAll().where("heartbeat_at", ">=", iso(freshSince)).execute();
}

/** Forgets a node's streams (it is shutting down), and rows older than `before` of any node. */
export async function dropLiveStreams(db: Kysely<Database>, nodeId: string | undefined, before?: Instant): Promise<void> {
  if (nodeId !== undefined) await db.deleteFrom("live_streams").where("node_id", "=", nodeId).execute();
  if (before !== undefined) await db.deleteFrom("live_streams").where("heartbeat_at", "<", iso(before)).execute();
}
