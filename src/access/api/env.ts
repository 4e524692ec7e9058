import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import type { Principal } from "../context.js";

/** Hono environment: the Node request (for the TLS socket) and the authenticated caller. */
export interface ApiEnv {
  Bindings: { incoming: IncomingMessage | Http2ServerRequest };
  /** `token` is the bearer token or session cookie the caller authenticated with. */
  Variables: { principal: Principal; source: string; token: string | undefined };
}
