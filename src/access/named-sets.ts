import type { Kysely } from "kysely";
import type { MembershipChange, RemovedReply } from "../protocol/api-access.js";
import { FernlinkError } from "../protocol/errors.js";
import { accessChanged } from "./access-changes.js";
import type { AuditAction } from "./audit-actions.js";
import { auditBy } from "./audit-log.js";
import type { AccessContext, Principal } from "./context.js";
import { revalidateStreams } from "./live-streams.js";
import { ensureAdmin } from "./roles.js";
import {
  addNamedSetMembers,
  createNamedSet,
  findNamedSetByName,
  listNamedSets,
  type NamedSet,
  type NamedSetTables,
  namedSetMemberNames,
  removeNamedSet,
  removeNamedSetMembers,
} from "./store/named-sets.js";
import type { Database } from "./store/schema.js";

/** What differs between groups (of users) and pools (of devices); every named set is for account admins only. */
export interface NamedSetKind<Info> {
  /** The member word in messages and CLI hints: "user", "device". */
  memberNoun: "user" | "device";
  tables: NamedSetTables;
  actions: { list: AuditAction; show: AuditAction; add: AuditAction; remove: AuditAction; members: AuditAction };
  /** The account's member called `name`, if any. */
  findMember(db: Kysely<Database>, accountId: string, name: string): Promise<{ id: string } | undefined>;
  /** The reply for one set with its member names. */
  info(set: NamedSet, members: string[]): Info;
}

/** The account's set called `name`; another account's set reads as missing. */
export async function namedSetByName<Info>(kind: NamedSetKind<Info>, ctx: AccessContext, who: Pick<Principal, "accountId">, name: string): Promise<NamedSet> {
  const set = await findNamedSetByName(kind.tables, ctx.db, who.accountId, name);
  if (!set) throw new FernlinkError("not-found", `no such ${kind.tables.noun} "${name}"; see: fernlink ${kind.tables.noun} list`);
  return set;
}

async function namedSetInfo<Info>(kind: NamedSetKind<Info>, ctx: AccessContext, accountId: string, set: NamedSet): Promise<Info> {
  return kind.info(set, (await namedSetMemberNames(kind.tables, ctx.db, accountId)).get(set.id) ?? []);
}

/** The account's sets with their members. */
export async function listAccountNamedSets<Info>(kind: NamedSetKind<Info>, ctx: AccessContext, who: Principal): Promise<Info[]> {
  await ensureAdmin(ctx, who, kind.actions.list, `${kind.tables.noun}s`);
  const [sets, members] = await Promise.all([listNamedSets(kind.tables, ctx.db, who.accountId), namedSetMemberNames(kind.tables, ctx.db, who.accountId)]);
  return sets.map((s) => kind.info(s, members.get(s.id) ?? []));
}

/** One set with its members. */
export async function showNamedSet<Info>(kind: NamedSetKind<Info>, ctx: AccessContext, who: Principal, name: string): Promise<Info> {
  await ensureAdmin(ctx, who, kind.actions.show, name);
  return namedSetInfo(kind, ctx, who.accountId, await namedSetByName(kind, ctx, who, name));
}

/** Creates an empty set. */
export async function addNamedSet<Info>(kind: NamedSetKind<Info>, ctx: AccessContext, who: Principal, name: string): Promise<Info> {
  await ensureAdmin(ctx, who, kind.actions.add, name);
  const set = await createNamedSet(kind.tables, ctx.db, { accountId: who.accountId, name, now: ctx.now() });
  await auditBy(ctx, who, kind.actions.add, name);
  return kind.info(set, []);
}

/** Removes a set with its access rules; streams that relied on them end. */
export async function removeAccountNamedSet<Info>(kind: NamedSetKind<Info>, ctx: AccessContext, who: Principal, name: string): Promise<RemovedReply> {
  await ensureAdmin(ctx, who, kind.actions.remove, name);
  const set = await namedSetByName(kind, ctx, who, name);
  const rulesRemoved = await ctx.db.transaction().execute((trx) => removeNamedSet(kind.tables, trx, set.id));
  await accessChanged(ctx, who.accountId);
  await revalidateStreams(ctx, who.accountId);
  await auditBy(ctx, who, kind.actions.remove, rulesRemoved > 0 ? `${name} (with ${rulesRemoved} access rules)` : name);
  return { ok: true, rulesRemoved };
}

/** Adds and removes members in one change; every name must be a member of the account. */
export async function changeNamedSetMembers<Info>(
  kind: NamedSetKind<Info>,
  ctx: AccessContext,
  who: Principal,
  name: string,
  change: MembershipChange,
): Promise<Info> {
  await ensureAdmin(ctx, who, kind.actions.members, name);
  const set = await namedSetByName(kind, ctx, who, name);
  const lookup = async (names: string[]): Promise<Map<string, string>> =>
    new Map(
      await Promise.all(
        names.map(async (n) => {
          const member = await kind.findMember(ctx.db, who.accountId, n);
          if (!member) throw new FernlinkError("not-found", `no such ${kind.memberNoun} "${n}"; see: fernlink ${kind.memberNoun} list`);
          return [member.id, n] as const;
        }),
      ),
    );
  const [add, remove] = [await lookup(change.add), await lookup(change.remove)];
  if ([...add.keys()].some((id) => remove.has(id)))
    throw new FernlinkError("invalid-input", `a ${kind.memberNoun} cannot be added and removed in the same change`);
  const [added, removed] = await ctx.db
    .transaction()
    .execute(async (trx) => [
      await addNamedSetMembers(kind.tables, trx, set.id, [...add.keys()]),
      await removeNamedSetMembers(kind.tables, trx, set.id, [...remove.keys()]),
    ]);
  if (added.length + removed.length > 0) await accessChanged(ctx, who.accountId);
  if (removed.length > 0) await revalidateStreams(ctx, who.accountId);
  if (added.length + removed.length > 0) {
    const summary = [...added.map((id) => `+${add.get(id)}`), ...removed.map((id) => `-${remove.get(id)}`)].join(" ");
    await auditBy(ctx, who, kind.actions.members, `${name} ${summary}`);
  }
  return namedSetInfo(kind, ctx, who.accountId, set);
}

/** The operations on one kind of named set, each checking that the caller is an account admin. */
export interface NamedSetOperations<Info> {
  /** The account's set called `name`; another account's set reads as missing. */
  byName(ctx: AccessContext, who: Pick<Principal, "accountId">, name: string): Promise<NamedSet>;
  /** The account's sets with their members. */
  list(ctx: AccessContext, who: Principal): Promise<Info[]>;
  /** One set with its members. */
  show(ctx: AccessContext, who: Principal, name: string): Promise<Info>;
  /** Creates an empty set. */
  add(ctx: AccessContext, who: Principal, name: string): Promise<Info>;
  /** Removes a set with its access rules; streams that relied on them end. */
  remove(ctx: AccessContext, who: Principal, name: string): Promise<RemovedReply>;
  /** Adds and removes members in one change; every name must be a member of the account. */
  changeMembers(ctx: AccessContext, who: Principal, name: string, change: MembershipChange): Promise<Info>;
}

/** The operations bound to one kind. */
export function namedSetOperations<Info>(kind: NamedSetKind<Info>): NamedSetOperations<Info> {
  return {
    byName: (ctx, who, name) => namedSetByName(kind, ctx, who, name),
    list: (ctx, who) => listAccountNamedSets(kind, ctx, who),
    show: (ctx, who, name) => showNamedSet(kind, ctx, who, name),
    add: (ctx, who, name) => addNamedSet(kind, ctx, who, name),
    remove: (ctx, who, name) => removeAccountNamedSet(kind, ctx, who, name),
    changeMembers: (ctx, who, name, change) => changeNamedSetMembers(kind, ctx, who, name, change),
  };
}
