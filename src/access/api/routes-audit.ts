import { z } from "zod";
import { ROUTES } from "../../protocol/api.js";
import { latestAudit } from "../audit-log.js";
import type { RouteKit } from "./route-kit.js";

const AuditQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(10_000).default(50) });

/** Audit routes. */
export function registerAuditRoutes({ app, ctx, auth }: RouteKit): void {
  app.get(ROUTES.audit, auth, async (c) => {
    const { limit } = AuditQuery.parse(c.req.query());
    return c.json(await latestAudit(ctx, c.get("principal"), limit));
  });
}
