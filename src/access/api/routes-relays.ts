import type { TLSSocket } from "node:tls";
import { FernlinkError } from "../../protocol/errors.js";
import { AgentCheckRequest, RELAY_ROUTES, RelayRegisterRequest } from "../../protocol/relay-link.js";
import { audit } from "../audit-log.js";
import { authenticateAgent } from "../registration.js";
import { registerRelay, relayOfCertificate } from "../relays.js";
import { body, type RouteKit } from "./route-kit.js";

/** A relay's registration (its one-time key) and its questions about agents (its relay certificate). */
export function registerRelayRoutes({ app, ctx }: Pick<RouteKit, "app" | "ctx">): void {
  app.post(RELAY_ROUTES.register, async (c) => {
    const source = c.get("source");
    try {
      const answer = await registerRelay(ctx.db, ctx.ca, await body(c, RelayRegisterRequest), ctx.now());
      await audit(ctx, { accountId: null, actor: null, source, action: "relay.register", object: answer.name, result: "ok" });
      return c.json(answer);
    } catch (err) {
      if (err instanceof FernlinkError)
        await audit(ctx, { accountId: null, actor: null, source, action: "relay.register", object: null, result: "denied", reason: err.code });
      throw err;
    }
  });
  app.post(RELAY_ROUTES.agent, async (c) => {
    const socket = c.env?.incoming?.socket as TLSSocket | undefined;
    const cert = socket?.authorized ? socket.getPeerCertificate() : undefined;
    if (!cert?.serialNumber) throw new FernlinkError("certificate-rejected", "this route needs a relay certificate");
    await relayOfCertificate(ctx.db, cert);
    const question = await body(c, AgentCheckRequest);
    return c.json(await authenticateAgent(ctx, { serial: question.serial, deviceId: question.deviceId }));
  });
}
