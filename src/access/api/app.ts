import type { TLSSocket } from "node:tls";
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { z } from "zod";
import {
  DeviceAddRequest,
  LoginRequest,
  RegisterRequest,
  ROUTES,
  type WhoAmI,
} from "../../protocol/api.js";
import { FernlinkError } from "../../shared/errors.js";
import { deviceIdFromCertificate, serialOf } from "../../shared/pki.js";
import { latestAudit } from "../audit-log.js";
import type { AccessContext } from "../context.js";
import { addDevice, deviceByName, deviceInfo, listAccountDevices, newDeviceKey, removeAccountDevice } from "../devices.js";
import { authenticateAgent, registerDevice, relayAssignment } from "../registration.js";
import { authenticate, login, logout } from "../sessions.js";
import type { ApiEnv } from "./env.js";
import { errorHandler } from "./errors.js";

/** Every API body is small JSON; CSRs are the largest at a few KiB. */
const MAX_BODY_BYTES = 64 * 1024;

const AuditQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(10_000).default(50) });

function sourceOf(c: Context<ApiEnv>): string {
  return c.env?.incoming?.socket?.remoteAddress ?? "unknown";
}

async function body<T extends z.ZodType>(c: Context<ApiEnv>, schema: T): Promise<z.infer<T>> {
  return schema.parse(await c.req.json());
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

  app.post(ROUTES.login, async (c) => c.json(await login(ctx, await body(c, LoginRequest), c.get("source"))));

  app.post(ROUTES.register, async (c) => c.json(await registerDevice(ctx, await body(c, RegisterRequest), c.get("source"))));

  app.get(ROUTES.relay, async (c) => {
    const socket = c.env?.incoming?.socket as TLSSocket | undefined;
    const cert = socket?.authorized ? socket.getPeerCertificate() : undefined;
    if (!cert?.serialNumber) throw new FernlinkError("certificate-rejected", "this route needs a valid device certificate");
    const identity = await authenticateAgent(ctx, { serial: serialOf(cert), deviceId: deviceIdFromCertificate(cert) });
    return c.json(await relayAssignment(ctx, identity, c.req.header("host")));
  });

  // Every route below needs a session.
  const auth = createMiddleware<ApiEnv>(async (c, next) => {
    const header = c.req.header("authorization");
    const token = header?.startsWith("Bearer ") ? header.slice(7) : undefined;
    c.set("principal", await authenticate(ctx, token, c.get("source")));
    await next();
  });
  app.get(ROUTES.whoami, auth, (c) => {
    const p = c.get("principal");
    const who: WhoAmI = { account: p.accountName, user: p.userName, role: p.role, expiresAt: p.expiresAt };
    return c.json(who);
  });
  app.post(ROUTES.logout, auth, async (c) => {
    await logout(ctx, c.get("principal"));
    return c.json({ ok: true });
  });
  app.get(ROUTES.devices, auth, async (c) => c.json(await listAccountDevices(ctx, c.get("principal"))));
  app.post(ROUTES.devices, auth, async (c) => c.json(await addDevice(ctx, c.get("principal"), await body(c, DeviceAddRequest)), 201));
  app.get(ROUTES.device, auth, async (c) =>
    c.json(deviceInfo(ctx, await deviceByName(ctx, c.get("principal"), c.req.param("name")))),
  );
  app.delete(ROUTES.device, auth, async (c) => {
    await removeAccountDevice(ctx, c.get("principal"), c.req.param("name"));
    return c.json({ ok: true });
  });
  app.post(ROUTES.deviceKey, auth, async (c) => c.json(await newDeviceKey(ctx, c.get("principal"), c.req.param("name"))));
  app.get(ROUTES.audit, auth, async (c) => {
    const { limit } = AuditQuery.parse(c.req.query());
    return c.json(await latestAudit(ctx, c.get("principal"), limit));
  });
  return app;
}
