import { ROUTES } from "../../protocol/api.js";
import { StreamIdSchema } from "../../protocol/api-live.js";
import { FernlinkError } from "../../protocol/errors.js";
import { VERSION } from "../../shared/version.js";
import { closeLiveStream, liveStreams, liveTunnels, statusSummary } from "../live-view.js";
import { adminOnly, type RouteKit } from "./route-kit.js";

/** Live tunnels and streams, cutting a stream, and the status summary (admins). */
export function registerLiveRoutes({ app, ctx, auth }: RouteKit): void {
  // The API app is built once when the server starts.
  const startedAt = ctx.now();

  app.get(ROUTES.liveTunnels, auth, adminOnly(ctx, "live.tunnels", "tunnels"), (c) => c.json(liveTunnels(ctx.presence, c.get("principal").accountId)));
  app.get(ROUTES.liveStreams, auth, adminOnly(ctx, "live.streams", "streams"), (c) => c.json(liveStreams(ctx.presence, c.get("principal").accountId)));
  app.delete(ROUTES.liveStream, auth, adminOnly(ctx, "stream.close"), async (c) => {
    const id = c.req.param("id");
    if (!StreamIdSchema.safeParse(id).success) throw new FernlinkError("not-found", `no live stream "${id.slice(0, 128)}" in this account; see: fernlink live`);
    await closeLiveStream(ctx, c.get("principal"), id);
    return c.json({ ok: true });
  });
  app.get(ROUTES.status, auth, adminOnly(ctx, "status", "status"), (c) =>
    c.json(statusSummary(ctx.presence, c.get("principal").accountId, { version: VERSION, startedAt, now: ctx.now() })),
  );
}
