import type { GroupInfo, MembershipChange, RemovedReply } from "../protocol/api-access.js";
import { FernlinkError } from "../protocol/errors.js";
import { accessChanged } from "./access-changes.js";
import { auditBy } from "./audit-log.js";
import type { AccessContext, Principal } from "./context.js";
import { revalidateStreams } from "./live-streams.js";
import { ensureAdmin } from "./roles.js";
import { addGroupMembers, createGroup, findGroupByName, groupMemberNames, listGroups, removeGroup, removeGroupMembers } from "./store/groups.js";
import type { Group } from "./store/schema.js";
import { findUserByName } from "./store/users.js";

/** The account's group called `name`; another account's group reads as missing. */
export async function groupByName(ctx: AccessContext, who: Pick<Principal, "accountId">, name: string): Promise<Group> {
  const group = await findGroupByName(ctx.db, who.accountId, name);
  if (!group) throw new FernlinkError("not-found", `no such group "${name}"; see: fernlink group list`);
  return group;
}

async function groupInfo(ctx: AccessContext, accountId: string, group: Group): Promise<GroupInfo> {
  return { name: group.name, members: (await groupMemberNames(ctx.db, accountId)).get(group.id) ?? [], createdAt: group.created_at };
}

/** The account's groups with their members (admins only). */
export async function listAccountGroups(ctx: AccessContext, who: Principal): Promise<GroupInfo[]> {
  await ensureAdmin(ctx, who, "group.list", "groups");
  const [groups, members] = await Promise.all([listGroups(ctx.db, who.accountId), groupMemberNames(ctx.db, who.accountId)]);
  return groups.map((g) => ({ name: g.name, members: members.get(g.id) ?? [], createdAt: g.created_at }));
}

/** One group with its members (admins only). */
export async function showGroup(ctx: AccessContext, who: Principal, name: string): Promise<GroupInfo> {
  await ensureAdmin(ctx, who, "group.show", name);
  return groupInfo(ctx, who.accountId, await groupByName(ctx, who, name));
}

/** Creates an empty group. */
export async function addGroup(ctx: AccessContext, who: Principal, name: string): Promise<GroupInfo> {
  await ensureAdmin(ctx, who, "group.add", name);
  const group = await createGroup(ctx.db, { accountId: who.accountId, name, now: ctx.now() });
  await auditBy(ctx, who, "group.add", name);
  return { name: group.name, members: [], createdAt: group.created_at };
}

/** Removes a group with its access rules; its members' streams that relied on them end. */
export async function removeAccountGroup(ctx: AccessContext, who: Principal, name: string): Promise<RemovedReply> {
  await ensureAdmin(ctx, who, "group.remove", name);
  const group = await groupByName(ctx, who, name);
  const rulesRemoved = await ctx.db.transaction().execute((trx) => removeGroup(trx, group.id));
  await accessChanged(ctx, who.accountId);
  await revalidateStreams(ctx, who.accountId);
  await auditBy(ctx, who, "group.remove", rulesRemoved > 0 ? `${name} (with ${rulesRemoved} access rules)` : name);
  return { ok: true, rulesRemoved };
}

/** Adds and removes members in one change; every name must be a user of the account. */
export async function changeGroupMembers(ctx: AccessContext, who: Principal, name: string, change: MembershipChange): Promise<GroupInfo> {
  await ensureAdmin(ctx, who, "group.members", name);
  const group = await groupByName(ctx, who, name);
  const lookup = async (names: string[]): Promise<Map<string, string>> =>
    new Map(
      await Promise.all(
        names.map(async (n) => {
          const user = await findUserByName(ctx.db, who.accountId, n);
          if (!user) throw new FernlinkError("not-found", `no such user "${n}"; see: fernlink user list`);
          return [user.id, n] as const;
        }),
      ),
    );
  const [add, remove] = [await lookup(change.add), await lookup(change.remove)];
  if ([...add.keys()].some((id) => remove.has(id))) throw new FernlinkError("invalid-input", "a user cannot be added and removed in the same change");
  const [added, removed] = await ctx.db
    .transaction()
    .execute(async (trx) => [await addGroupMembers(trx, group.id, [...add.keys()]), await removeGroupMembers(trx, group.id, [...remove.keys()])]);
  if (added.length + removed.length > 0) await accessChanged(ctx, who.accountId);
  if (removed.length > 0) await revalidateStreams(ctx, who.accountId);
  if (added.length + removed.length > 0) {
    const summary = [...added.map((id) => `+${add.get(id)}`), ...removed.map((id) => `-${remove.get(id)}`)].join(" ");
    await auditBy(ctx, who, "group.members", `${name} ${summary}`);
  }
  return groupInfo(ctx, who.accountId, group);
}
