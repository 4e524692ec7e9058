import { ACCESS_ROUTES, AccessGrantRequest, MembershipChange, NamedAddRequest } from "../../protocol/api-access.js";
import { grantAccess, listAccessRules, revokeAccess } from "../access-rules.js";
import { addGroup, changeGroupMembers, listAccountGroups, removeAccountGroup, showGroup } from "../groups.js";
import { addPool, changePoolDevices, listAccountPools, removeAccountPool, showPool } from "../pools.js";
import { adminOnly, body, type RouteKit } from "./route-kit.js";

/** Group, pool and access rule routes; every one is for account admins (checked before the body is read, and again in the functions they call). */
export function registerAccessRuleRoutes({ app, ctx, auth }: RouteKit): void {
  const R = ACCESS_ROUTES;
  app.get(R.groups, auth, adminOnly(ctx, "group.list", "groups"), async (c) => c.json(await listAccountGroups(ctx, c.get("principal"))));
  app.post(R.groups, auth, adminOnly(ctx, "group.add", "groups"), async (c) =>
    c.json(await addGroup(ctx, c.get("principal"), (await body(c, NamedAddRequest)).name), 201),
  );
  app.get(R.group, auth, adminOnly(ctx, "group.show"), async (c) => c.json(await showGroup(ctx, c.get("principal"), c.req.param("name"))));
  app.delete(R.group, auth, adminOnly(ctx, "group.remove"), async (c) => c.json(await removeAccountGroup(ctx, c.get("principal"), c.req.param("name"))));
  app.post(R.groupMembers, auth, adminOnly(ctx, "group.members"), async (c) =>
    c.json(await changeGroupMembers(ctx, c.get("principal"), c.req.param("name"), await body(c, MembershipChange))),
  );

  app.get(R.pools, auth, adminOnly(ctx, "pool.list", "pools"), async (c) => c.json(await listAccountPools(ctx, c.get("principal"))));
  app.post(R.pools, auth, adminOnly(ctx, "pool.add", "pools"), async (c) =>
    c.json(await addPool(ctx, c.get("principal"), (await body(c, NamedAddRequest)).name), 201),
  );
  app.get(R.pool, auth, adminOnly(ctx, "pool.show"), async (c) => c.json(await showPool(ctx, c.get("principal"), c.req.param("name"))));
  app.delete(R.pool, auth, adminOnly(ctx, "pool.remove"), async (c) => c.json(await removeAccountPool(ctx, c.get("principal"), c.req.param("name"))));
  app.post(R.poolDevices, auth, adminOnly(ctx, "pool.devices"), async (c) =>
    c.json(await changePoolDevices(ctx, c.get("principal"), c.req.param("name"), await body(c, MembershipChange))),
  );

  app.get(R.accessRules, auth, adminOnly(ctx, "access.list", "access rules"), async (c) => c.json(await listAccessRules(ctx, c.get("principal"))));
  app.post(R.accessRules, auth, adminOnly(ctx, "access.grant", "access rules"), async (c) =>
    c.json(await grantAccess(ctx, c.get("principal"), await body(c, AccessGrantRequest)), 201),
  );
  app.delete(R.accessRule, auth, adminOnly(ctx, "access.revoke"), async (c) => {
    await revokeAccess(ctx, c.get("principal"), { group: c.req.param("group"), pool: c.req.param("pool") });
    return c.json({ ok: true });
  });
}
