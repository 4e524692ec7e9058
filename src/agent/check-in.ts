import https from "node:https";
import { CheckInResponse, ON_DEMAND_ROUTES } from "../protocol/api-on-demand.js";
import { decodeJsonAnswer, networkError } from "../shared/https-json.js";
import type { AgentState } from "./state.js";

/** How long one check-in may take on a slow cellular link. */
const CHECK_IN_TIMEOUT_MS = 30_000;

/** Asks the service whether the device's tunnel is wanted; `every` is the interval the agent keeps (seconds). */
export type CheckIn = (every: number) => Promise<CheckInResponse>;

/**
 * The check-ins of one on-demand agent: one small HTTPS POST each, on a fresh connection
 * (nothing is held between them), but resuming the last TLS session, so a check-in does not
 * carry the certificates again: that is most of a full handshake's bytes, and a cellular
 * agent pays for every one.
 */
export function checkInClient(state: AgentState): CheckIn {
  // Kept here, not in an https.Agent: the Agent forgets a session whenever its connection
  // closes with an error, and a server's close_notify arriving after the agent closed is one.
  let session: Buffer | undefined;
  const url = new URL(ON_DEMAND_ROUTES.checkIn, state.config.server);
  return (every) =>
    new Promise((resolve, reject) => {
      const payload = JSON.stringify({ every });
      const r = https.request(
        url,
        {
          method: "POST",
          headers: { "content-type": "application/json" },
          ca: state.caPem,
          cert: state.certPem,
          key: state.keyPem,
          agent: false,
          ...(session ? { session } : {}),
          timeout: CHECK_IN_TIMEOUT_MS,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", (err) => reject(networkError(err, state.config.server, true)));
          res.on("end", () => {
            try {
              const body = Buffer.concat(chunks);
              resolve(decodeJsonAnswer({ status: res.statusCode ?? 500, body, schema: CheckInResponse, server: state.config.server, path: url.pathname }));
            } catch (err) {
              reject(err);
            }
          });
        },
      );
      r.on("socket", (socket) => socket.on("session", (ticket: Buffer) => (session = ticket)));
      r.on("timeout", () => r.destroy(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })));
      r.on("error", (err) => reject(networkError(err, state.config.server, true)));
      r.end(payload);
    });
}
