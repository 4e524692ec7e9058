import type { NamedSetTables } from "./named-sets.js";

/** Groups of users: the groups table, linked to users through group_members. */
export const GROUP_TABLES: NamedSetTables = {
  noun: "group",
  sets: "groups",
  ruleColumn: "group_id",
  memberNames: (db, accountId) =>
    db
      .selectFrom("group_members")
      .innerJoin("groups", "groups.id", "group_members.group_id")
      .innerJoin("users", "users.id", "group_members.user_id")
      .select(["group_members.group_id as setId", "users.name as memberName"])
      .where("groups.account_id", "=", accountId)
      .orderBy("users.name")
      .execute(),
  link: async (db, setId, memberId) => {
    const result = await db
      .insertInto("group_members")
      .values({ group_id: setId, user_id: memberId })
      .onConflict((oc) => oc.columns(["group_id", "user_id"]).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
  },
  unlink: async (db, setId, memberId) => {
    const result = await db.deleteFrom("group_members").where("group_id", "=", setId).where("user_id", "=", memberId).executeTakeFirst();
    return result.numDeletedRows > 0n;
  },
};
