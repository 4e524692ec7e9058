import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

/** One sealed cluster key row. */
export interface SealedClusterKey {
  name: string;
  sealed: string;
  keyFile: string;
}

/** Every sealed cluster key in the store (none before the first node sealed them). */
export async function readClusterKeys(db: Kysely<Database>): Promise<SealedClusterKey[]> {
  const rows = await db.selectFrom("cluster_keys").select(["name", "sealed", "key_file"]).execute();
  return rows.map((r) => ({ name: r.name, sealed: r.sealed, keyFile: r.key_file }));
}

/**
 * Inserts `rows` where no row of that name exists yet, in one statement (one transaction), and
 * returns the names it inserted: all of them for the first node, none for a node that lost a
 * race to another (which then reads the winner's). A concurrent insert of the same names
 * waits for the other transaction and then inserts nothing.
 */
export async function insertClusterKeysIfAbsent(db: Kysely<Database>, rows: readonly SealedClusterKey[], now: Date): Promise<string[]> {
  const inserted = await db
    .insertInto("cluster_keys")
    .values(rows.map((r) => ({ name: r.name, sealed: r.sealed, key_file: r.keyFile, created_at: now.toISOString() })))
    .onConflict((oc) => oc.column("name").doNothing())
    .returning("name")
    .execute();
  return inserted.map((r) => r.name);
}
