import { ROUTES } from "../../protocol/api.js";
import { WebTargetAddRequest } from "../../protocol/api-web-targets.js";
import { addWebTarget, listDeviceWebTargets, removeDeviceWebTarget } from "../web-targets.js";
import { adminOnly, body, type RouteKit } from "./route-kit.js";

/** Web target routes: listing for anyone who may see the device; adding and removing for admins (checked before the body is read). */
export function registerWebTargetRoutes({ app, ctx, auth }: RouteKit): void {
  app.get(ROUTES.deviceWeb, auth, async (c) => c.json(await listDeviceWebTargets(ctx, c.get("principal"), c.req.param("name"))));
  app.post(ROUTES.deviceWeb, auth, adminOnly(ctx, "web-target.add"), async (c) =>
    c.json(await addWebTarget(ctx, c.get("principal"), c.req.param("name"), await body(c, WebTargetAddRequest)), 201),
  );
  app.delete(ROUTES.deviceWebTarget, auth, adminOnly(ctx, "web-target.remove"), async (c) => {
    await removeDeviceWebTarget(ctx, c.get("principal"), c.req.param("name"), c.req.param("target"));
    return c.json({ ok: true });
  });
}
