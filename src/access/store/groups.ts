import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { FernlinkError } from "../../protocol/errors.js";
import { byNaturalName } from "../../shared/natural-order.js";
import { constraintViolation } from "./db-errors.js";
import type { Database, Group } from "./schema.js";
import { type Instant, iso } from "./time.js";

/** Creates a group of users; "conflict" when the account already has one by that name. */
export async function createGroup(db: Kysely<Database>, input: { accountId: string; name: string; now: Instant }): Promise<Group> {
  const group: Group = { id: randomUUID(), account_id: input.accountId, name: input.name, created_at: iso(input.now) };
  try {
    await db.insertInto("groups").values(group).execute();
  } catch (err) {
    if (constraintViolation(err) === "unique") throw new FernlinkError("conflict", `group "${input.name}" already exists`, { cause: err });
    throw err;
  }
  return group;
}

/** The account's group called `name`, if any. */
export function findGroupByName(db: Kysely<Database>, accountId: string, name: string): Promise<Group | undefined> {
  return db.selectFrom("groups").selectAll().where("account_id", "=", accountId).where("name", "=", name).executeTakeFirst();
}

/** The account's groups, ordered by name. */
export function listGroups(db: Kysely<Database>, accountId: string): Promise<Group[]> {
  return db.selectFrom("groups").selectAll().where("account_id", "=", accountId).execute().then(byNaturalName);
}

/** Member names per group id, for the account's groups. */
export async function groupMemberNames(db: Kysely<Database>, accountId: string): Promise<Map<string, string[]>> {
  const rows = await db
    .selectFrom("group_members")
    .innerJoin("groups", "groups.id", "group_members.group_id")
    .innerJoin("users", "users.id", "group_members.user_id")
    .select(["group_members.group_id as groupId", "users.name as userName"])
    .where("groups.account_id", "=", accountId)
    .orderBy("users.name")
    .execute();
  const byGroup = new Map<string, string[]>();
  for (const row of rows) byGroup.set(row.groupId, [...(byGroup.get(row.groupId) ?? []), row.userName]);
  return byGroup;
}

/** Deletes a group; its memberships and access rules go with it. Returns how many rules went. */
export async function removeGroup(db: Kysely<Database>, id: string): Promise<number> {
  const rules = await db
    .selectFrom("access_rules")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("group_id", "=", id)
    .executeTakeFirstOrThrow();
  await db.deleteFrom("groups").where("id", "=", id).execute();
  return Number(rules.n);
}

/** Adds users to a group; users already in it stay. Returns the ids that were added. */
export async function addGroupMembers(db: Kysely<Database>, groupId: string, userIds: readonly string[]): Promise<string[]> {
  const added: string[] = [];
  for (const userId of new Set(userIds)) {
    const result = await db
      .insertInto("group_members")
      .values({ group_id: groupId, user_id: userId })
      .onConflict((oc) => oc.columns(["group_id", "user_id"]).doNothing())
      .executeTakeFirst();
    if (Number(result.numInsertedOrUpdatedRows ?? 0n) > 0) added.push(userId);
  }
  return added;
}

/** Takes users out of a group; returns the ids that were members. */
export async function removeGroupMembers(db: Kysely<Database>, groupId: string, userIds: readonly string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const userId of new Set(userIds)) {
    const result = await db.deleteFrom("group_members").where("group_id", "=", groupId).where("user_id", "=", userId).executeTakeFirst();
    if (result.numDeletedRows > 0n) removed.push(userId);
  }
  return removed;
}
