import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { LoginRequest, RegisterRequest, ROUTES } from "../../protocol/api.js";
import { ROUTE_DOCS } from "../../protocol/api-catalogue.js";
import { AgentPublishRequest } from "../../protocol/api-publish.js";
import { FernlinkError } from "../../protocol/errors.js";
import { SwitchReport } from "../../protocol/key-switch.js";
import { openApiDocument } from "../../protocol/openapi.js";
import { RelayRegion } from "../../protocol/relay-link.js";
import { VERSION } from "../../shared/version.js";
import { agentPublish } from "../agent-publish.js";
import type { AccessContext } from "../context.js";
import { recordSwitch } from "../device-switch.js";
import { registerDevice, relayAssignment } from "../registration.js";
import { login } from "../sessions.js";
import type { ApiEnv } from "./env.js";
import { errorHandler } from "./errors.js";
import { body, type RouteKit, requestingAgent, sessionMiddleware } from "./route-kit.js";
import { registerAccessRuleRoutes } from "./routes-access-rules.js";
import { registerAuditRoutes } from "./routes-audit.js";
import { registerCoreRoutes } from "./routes-core.js";
import { registerEventRoutes } from "./routes-events.js";
import { registerLiveRoutes } from "./routes-live.js";
import { registerNotifyRoutes } from "./routes-notify.js";
import { registerOnDemandRoutes } from "./routes-on-demand.js";
import { registerOperatorRoutes } from "./routes-operator.js";
import { registerPublishRoutes } from "./routes-publish.js";
import { registerRecordingRoutes } from "./routes-recordings.js";
import { registerRelayRoutes } from "./routes-relays.js";
import { registerSessionRoutes } from "./routes-session.js";
import { registerUserRoutes } from "./routes-users.js";
import { registerWebTargetRoutes } from "./routes-web-targets.js";

/** Every API body is small JSON; CSRs are the largest at a few KiB. */
const MAX_BODY_BYTES = 64 * 1024;

function sourceOf(c: Context<ApiEnv>): string {
  return c.env?.incoming?.socket?.remoteAddress ?? "unknown";
}

/** The REST API of the access service; sockets stay outside, so tests call it in process. */
export function createApiApp(ctx: AccessContext): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.onError(errorHandler(ctx.log));
  app.notFound((c) => c.json({ error: { code: "not-found", message: `no API route ${c.req.method} ${c.req.path}` } }, 404));

  // Login and registration need no session: without a cap, one huge body could exhaust memory.
  app.use(
    "/api/*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new FernlinkError("invalid-input", `request body too large (limit ${MAX_BODY_BYTES / 1024} KiB)`);
      },
    }),
  );
  app.use("/api/*", async (c, next) => {
    c.set("source", sourceOf(c));
    c.header("cache-control", "no-store");
    await next();
  });

  app.get(ROUTES.health, (c) => c.json({ ok: true }));
  const openapi = openApiDocument(ROUTE_DOCS, VERSION);
  app.get(ROUTES.openapi, (c) => c.json(openapi));

  app.post(ROUTES.login, async (c) => c.json(await login(ctx, await body(c, LoginRequest), c.get("source"))));

  app.post(ROUTES.register, async (c) => c.json(await registerDevice(ctx, await body(c, RegisterRequest), c.get("source"))));

  app.get(ROUTES.relay, async (c) => {
    const identity = await requestingAgent(ctx, c);
    const region = c.req.query("region");
    return c.json(await relayAssignment(ctx, identity, c.req.header("host"), region && RelayRegion.safeParse(region).success ? region : undefined));
  });

  app.post(ROUTES.agentPublish, async (c) => {
    const identity = await requestingAgent(ctx, c);
    return c.json(await agentPublish(ctx, identity, await body(c, AgentPublishRequest), c.get("source")));
  });

  app.post(ROUTES.agentSwitch, async (c) => {
    const identity = await requestingAgent(ctx, c);
    return c.json(await recordSwitch(ctx, identity, (await body(c, SwitchReport)).state, c.get("source")));
  });

  registerOperatorRoutes({ app, ctx });
  registerRelayRoutes({ app, ctx });

  const kit: RouteKit = { app, ctx, auth: sessionMiddleware(ctx) };
  registerSessionRoutes(kit);
  registerCoreRoutes(kit);
  registerUserRoutes(kit);
  registerAccessRuleRoutes(kit);
  registerWebTargetRoutes(kit);
  registerAuditRoutes(kit);
  registerLiveRoutes(kit);
  registerPublishRoutes(kit);
  registerRecordingRoutes(kit);
  registerOnDemandRoutes(kit);
  registerEventRoutes(kit);
  registerNotifyRoutes(kit);
  return app;
}
