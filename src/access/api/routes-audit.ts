import { ROUTES } from "../../protocol/api.js";
import { AuditQuery, AuditVerifyQuery, ConnectionsQuery } from "../../protocol/api-audit.js";
import { queryAudit, verifyAccountAudit } from "../audit-queries.js";
import { connectionReport } from "../connection-report.js";
import { adminOnly, type RouteKit } from "./route-kit.js";

/** Audit listing, chain verification and the connection report; admins only. */
export function registerAuditRoutes({ app, ctx, auth }: RouteKit): void {
  // The role check comes before the query is parsed: a member learns nothing from a bad query.
  app.get(ROUTES.audit, auth, adminOnly(ctx, "audit.list", "audit"), async (c) =>
    c.json(await queryAudit(ctx, c.get("principal"), AuditQuery.parse(c.req.query()))),
  );
  app.get(ROUTES.auditVerify, auth, adminOnly(ctx, "audit.verify", "audit"), async (c) => {
    const { expectHead } = AuditVerifyQuery.parse(c.req.query());
    return c.json(await verifyAccountAudit(ctx, c.get("principal"), expectHead));
  });
  app.get(ROUTES.connectionsReport, auth, adminOnly(ctx, "report.connections", "connections"), async (c) =>
    c.json(await connectionReport(ctx, c.get("principal"), ConnectionsQuery.parse(c.req.query()))),
  );
}
