import type { TLSSocket } from "node:tls";
import type { Context } from "hono";
import { CheckInRequest, ON_DEMAND_ROUTES } from "../../protocol/api-on-demand.js";
import { FernlinkError } from "../../protocol/errors.js";
import type { AgentIdentity } from "../../protocol/relay-access.js";
import { deviceIdFromCertificate, serialOf } from "../../shared/pki.js";
import type { AccessContext } from "../context.js";
import { checkIn, wakeDevice } from "../on-demand.js";
import { authenticateAgent } from "../registration.js";
import type { ApiEnv } from "./env.js";
import { body, type RouteKit } from "./route-kit.js";

/** The device behind the request's client certificate (chain checked by TLS already). */
async function requestingAgent(ctx: AccessContext, c: Context<ApiEnv>): Promise<AgentIdentity> {
  const socket = c.env?.incoming?.socket as TLSSocket | undefined;
  const cert = socket?.authorized ? socket.getPeerCertificate() : undefined;
  if (!cert?.serialNumber) throw new FernlinkError("certificate-rejected", "this route needs a valid device certificate");
  return authenticateAgent(ctx, { serial: serialOf(cert), deviceId: deviceIdFromCertificate(cert) });
}

/** Check-ins of on-demand agents, and users asking for such a device. */
export function registerOnDemandRoutes({ app, ctx, auth }: RouteKit): void {
  app.post(ON_DEMAND_ROUTES.checkIn, async (c) => {
    const identity = await requestingAgent(ctx, c);
    return c.json(await checkIn(ctx, identity, (await body(c, CheckInRequest)).every));
  });
  app.post(ON_DEMAND_ROUTES.deviceWake, auth, async (c) => c.json(await wakeDevice(ctx, c.get("principal"), c.req.param("name"))));
}
