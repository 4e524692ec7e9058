import type { AccessGrantRequest, AccessRuleInfo } from "../protocol/api-access.js";
import { FernlinkError } from "../protocol/errors.js";
import { TargetSyntaxError } from "../protocol/target.js";
import { canonicalTargets } from "../protocol/target-filter.js";
import { accessChanged } from "./access-changes.js";
import { auditBy } from "./audit-log.js";
import type { AccessContext, Principal } from "./context.js";
import { groupByName } from "./groups.js";
import { revalidateStreams } from "./live-streams.js";
import { poolByName } from "./pools.js";
import { ensureAdmin } from "./roles.js";
import { listRules, putRule, removeRule, ruleTargets } from "./store/access-rules.js";

/** A rule as the audit names it: `service-team/line-3`. */
function ruleName(group: string, pool: string): string {
  return `${group}/${pool}`;
}

function describeRule(level: string, targets: string[] | null): string {
  return targets === null ? `${level}, LAN ranges` : `${level}, targets ${targets.join(" ")}`;
}

/** The account's access rules (admins only). */
export async function listAccessRules(ctx: AccessContext, who: Principal): Promise<AccessRuleInfo[]> {
  await ensureAdmin(ctx, who, "access.list", "access rules");
  return (await listRules(ctx.db, who.accountId)).map((r) => ({
    group: r.group_name,
    pool: r.pool_name,
    level: r.level,
    targets: ruleTargets(r),
    createdAt: r.created_at,
  }));
}

/**
 * Grants a group a level on a pool, optionally narrowed to targets (stored canonical). An
 * earlier rule of the group on the pool is replaced; streams the new rule no longer covers end.
 */
export async function grantAccess(ctx: AccessContext, who: Principal, input: AccessGrantRequest): Promise<AccessRuleInfo> {
  const name = ruleName(input.group, input.pool);
  await ensureAdmin(ctx, who, "access.grant", name);
  let targets: string[] | null;
  try {
    targets = input.targets === undefined ? null : canonicalTargets(input.targets);
  } catch (err) {
    if (err instanceof TargetSyntaxError) throw new FernlinkError("invalid-input", `--targets: ${err.message}`, { cause: err });
    throw err;
  }
  if (targets !== null && input.level !== "connect")
    throw new FernlinkError("invalid-input", "--targets narrow connect rules only; drop them for --level view");
  const [group, pool] = await Promise.all([groupByName(ctx, who, input.group), poolByName(ctx, who, input.pool)]);
  const { rule, replaced } = await ctx.db
    .transaction()
    .execute((trx) => putRule(trx, { accountId: who.accountId, groupId: group.id, poolId: pool.id, level: input.level, targets, now: ctx.now() }));
  await accessChanged(ctx, who.accountId);
  if (replaced) await revalidateStreams(ctx, who.accountId);
  const was = replaced ? ` (was: ${describeRule(replaced.level, ruleTargets(replaced))})` : "";
  await auditBy(ctx, who, "access.grant", `${name}: ${describeRule(rule.level, targets)}${was}`);
  return { group: group.name, pool: pool.name, level: rule.level, targets, createdAt: rule.created_at };
}

/** Revokes a group's rule on a pool; the streams that relied on it end at once. */
export async function revokeAccess(ctx: AccessContext, who: Principal, input: { group: string; pool: string }): Promise<void> {
  const name = ruleName(input.group, input.pool);
  await ensureAdmin(ctx, who, "access.revoke", name);
  const [group, pool] = await Promise.all([groupByName(ctx, who, input.group), poolByName(ctx, who, input.pool)]);
  if (!(await removeRule(ctx.db, group.id, pool.id))) {
    throw new FernlinkError("not-found", `group "${input.group}" has no access rule on pool "${input.pool}"; see: fernlink access list`);
  }
  await accessChanged(ctx, who.accountId);
  await revalidateStreams(ctx, who.accountId);
  await auditBy(ctx, who, "access.revoke", name);
}
