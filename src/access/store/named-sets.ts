import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { FernlinkError } from "../../protocol/errors.js";
import { byNaturalName } from "../../shared/natural-order.js";
import { constraintViolation } from "./db-errors.js";
import type { Database, Group, Pool } from "./schema.js";
import { type Instant, iso } from "./time.js";

/** A named set row: groups and pools share one shape. */
export type NamedSet = Group | Pool;

/** What differs between the account's named sets in the store: their tables and how one member link is written. */
export interface NamedSetTables {
  /** The word in messages and CLI hints: "group", "pool". */
  noun: "group" | "pool";
  sets: "groups" | "pools";
  /** The column of access_rules that names the set. */
  ruleColumn: "group_id" | "pool_id";
  /** Member names per set id, for the account's sets, each list ordered by name. */
  memberNames(db: Kysely<Database>, accountId: string): Promise<{ setId: string; memberName: string }[]>;
  /** Links one member; true when it was not linked before. */
  link(db: Kysely<Database>, setId: string, memberId: string): Promise<boolean>;
  /** Unlinks one member; true when it was linked. */
  unlink(db: Kysely<Database>, setId: string, memberId: string): Promise<boolean>;
}

/** Creates an empty set; "conflict" when the account already has one by that name. */
export async function createNamedSet(t: NamedSetTables, db: Kysely<Database>, input: { accountId: string; name: string; now: Instant }): Promise<NamedSet> {
  const set: NamedSet = { id: randomUUID(), account_id: input.accountId, name: input.name, created_at: iso(input.now) };
  try {
    await db.insertInto(t.sets).values(set).execute();
  } catch (err) {
    if (constraintViolation(err) === "unique") throw new FernlinkError("conflict", `${t.noun} "${input.name}" already exists`, { cause: err });
    throw err;
  }
  return set;
}

/** The account's set called `name`, if any. */
export function findNamedSetByName(t: NamedSetTables, db: Kysely<Database>, accountId: string, name: string): Promise<NamedSet | undefined> {
  return db.selectFrom(t.sets).selectAll().where("account_id", "=", accountId).where("name", "=", name).executeTakeFirst();
}

/** The account's sets, ordered by name. */
export function listNamedSets(t: NamedSetTables, db: Kysely<Database>, accountId: string): Promise<NamedSet[]> {
  return db.selectFrom(t.sets).selectAll().where("account_id", "=", accountId).execute().then(byNaturalName);
}

/** Member names per set id, for the account's sets. */
export async function namedSetMemberNames(t: NamedSetTables, db: Kysely<Database>, accountId: string): Promise<Map<string, string[]>> {
  const bySet = new Map<string, string[]>();
  for (const row of await t.memberNames(db, accountId)) bySet.set(row.setId, [...(bySet.get(row.setId) ?? []), row.memberName]);
  return bySet;
}

/** Deletes a set; its member links and access rules go with it. Returns how many rules went. */
export async function removeNamedSet(t: NamedSetTables, db: Kysely<Database>, id: string): Promise<number> {
  const rules = await db
    .selectFrom("access_rules")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where(t.ruleColumn, "=", id)
    .executeTakeFirstOrThrow();
  await db.deleteFrom(t.sets).where("id", "=", id).execute();
  return Number(rules.n);
}

/** Adds members to a set; members already in it stay. Returns the ids that were added. */
export async function addNamedSetMembers(t: NamedSetTables, db: Kysely<Database>, setId: string, memberIds: readonly string[]): Promise<string[]> {
  const added: string[] = [];
  for (const memberId of new Set(memberIds)) if (await t.link(db, setId, memberId)) added.push(memberId);
  return added;
}

/** Takes members out of a set; returns the ids that were in it. */
export async function removeNamedSetMembers(t: NamedSetTables, db: Kysely<Database>, setId: string, memberIds: readonly string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const memberId of new Set(memberIds)) if (await t.unlink(db, setId, memberId)) removed.push(memberId);
  return removed;
}
