import { ROUTES } from "../../protocol/api.js";
import { AgentPublishSwitch, PublishAddRequest } from "../../protocol/api-publish.js";
import { setAgentPublishSwitch } from "../agent-publish.js";
import { addPublished, listPublished, pausePublished, publishedDataLog, removePublished, resumePublished } from "../published-ports.js";
import { adminOnly, body, type RouteKit } from "./route-kit.js";

/** Published port routes: admins only (checked before the body is read), each audited. */
export function registerPublishRoutes({ app, ctx, auth }: RouteKit): void {
  app.get(ROUTES.publishedPorts, auth, adminOnly(ctx, "publish.list", "published ports"), async (c) => c.json(await listPublished(ctx, c.get("principal"))));
  app.post(ROUTES.publishedPorts, auth, adminOnly(ctx, "publish.add"), async (c) =>
    c.json(await addPublished(ctx, c.get("principal"), await body(c, PublishAddRequest)), 201),
  );
  app.post(ROUTES.publishedPortPause, auth, adminOnly(ctx, "publish.pause"), async (c) =>
    c.json(await pausePublished(ctx, c.get("principal"), c.req.param("name"))),
  );
  app.post(ROUTES.publishedPortResume, auth, adminOnly(ctx, "publish.resume"), async (c) =>
    c.json(await resumePublished(ctx, c.get("principal"), c.req.param("name"))),
  );
  app.delete(ROUTES.publishedPort, auth, adminOnly(ctx, "publish.remove"), async (c) => {
    await removePublished(ctx, c.get("principal"), c.req.param("name"));
    return c.json({ ok: true });
  });
  app.post(ROUTES.deviceAgentPublish, auth, adminOnly(ctx, "publish.agent-switch"), async (c) => {
    await setAgentPublishSwitch(ctx, c.get("principal"), c.req.param("name"), (await body(c, AgentPublishSwitch)).allowed);
    return c.json({ ok: true });
  });
  app.get(ROUTES.publishedPortLog, auth, adminOnly(ctx, "publish.log"), async (c) => {
    const name = c.req.param("name");
    return c.json({ name, log: await publishedDataLog(ctx, c.get("principal"), name) });
  });
}
