import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { AccessRule, Database } from "./schema.js";
import { type Instant, iso } from "./time.js";

/** A rule with the names of its group and pool. */
export interface NamedRule extends AccessRule {
  group_name: string;
  pool_name: string;
}

/** The stored `targets` JSON as a list, or null for "the devices' LAN ranges". */
export function ruleTargets(rule: Pick<AccessRule, "targets">): string[] | null {
  if (rule.targets === null) return null;
  const value: unknown = JSON.parse(rule.targets);
  if (!Array.isArray(value) || !value.every((t): t is string => typeof t === "string")) {
    throw new Error(`stored access rule targets are not a JSON array of strings: ${rule.targets}`);
  }
  return value;
}

/**
 * Grants a group a level on a pool; a rule for the same group and pool is replaced.
 * Returns the rule and the one it replaced, if any. Run it in a transaction.
 */
export async function putRule(
  db: Kysely<Database>,
  input: { accountId: string; groupId: string; poolId: string; level: AccessRule["level"]; targets: string[] | null; now: Instant },
): Promise<{ rule: AccessRule; replaced: AccessRule | undefined }> {
  const targets = input.targets === null ? null : JSON.stringify(input.targets);
  const replaced = await findRule(db, input.groupId, input.poolId);
  if (replaced) {
    await db.updateTable("access_rules").set({ level: input.level, targets }).where("id", "=", replaced.id).execute();
    return { rule: { ...replaced, level: input.level, targets }, replaced };
  }
  const rule: AccessRule = {
    id: randomUUID(),
    account_id: input.accountId,
    group_id: input.groupId,
    pool_id: input.poolId,
    level: input.level,
    targets,
    created_at: iso(input.now),
  };
  await db.insertInto("access_rules").values(rule).execute();
  return { rule, replaced: undefined };
}

/** The rule of a group on a pool, if any. */
export function findRule(db: Kysely<Database>, groupId: string, poolId: string): Promise<AccessRule | undefined> {
  return db.selectFrom("access_rules").selectAll().where("group_id", "=", groupId).where("pool_id", "=", poolId).executeTakeFirst();
}

/** Deletes the rule of a group on a pool; false if there was none. */
export async function removeRule(db: Kysely<Database>, groupId: string, poolId: string): Promise<boolean> {
  const result = await db.deleteFrom("access_rules").where("group_id", "=", groupId).where("pool_id", "=", poolId).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** The account's rules with group and pool names, ordered by group then pool. */
export function listRules(db: Kysely<Database>, accountId: string): Promise<NamedRule[]> {
  return db
    .selectFrom("access_rules")
    .innerJoin("groups", "groups.id", "access_rules.group_id")
    .innerJoin("pools", "pools.id", "access_rules.pool_id")
    .selectAll("access_rules")
    .select(["groups.name as group_name", "pools.name as pool_name"])
    .where("access_rules.account_id", "=", accountId)
    .orderBy("groups.name")
    .orderBy("pools.name")
    .execute();
}

/** A member's rules that reach devices: each matching rule once per device of its pool. */
export interface RuleReach {
  device_id: string;
  group_id: string;
  pool_id: string;
  level: AccessRule["level"];
  targets: string | null;
}

/**
 * The rules whose group holds the user, joined to the devices their pools hold, within one
 * account (optionally for one device only). One query: the relay asks this for every stream.
 */
export function rulesReachingUser(db: Kysely<Database>, accountId: string, userId: string, deviceId?: string): Promise<RuleReach[]> {
  let query = db
    .selectFrom("access_rules")
    .innerJoin("group_members", "group_members.group_id", "access_rules.group_id")
    .innerJoin("pool_devices", "pool_devices.pool_id", "access_rules.pool_id")
    .innerJoin("devices", "devices.id", "pool_devices.device_id")
    .select(["pool_devices.device_id", "access_rules.group_id", "access_rules.pool_id", "access_rules.level", "access_rules.targets"])
    .where("access_rules.account_id", "=", accountId)
    .where("devices.account_id", "=", accountId)
    .where("group_members.user_id", "=", userId);
  if (deviceId !== undefined) query = query.where("pool_devices.device_id", "=", deviceId);
  return query.execute();
}
