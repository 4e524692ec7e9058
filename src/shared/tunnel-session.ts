import type { Http2Session } from "node:http2";
import { TUNNEL_SESSION_MEMORY_MB, TUNNEL_SETTINGS, TUNNEL_WINDOW } from "../protocol/tunnel-settings.js";

/**
 * What every HTTP/2 session that carries streams is created with (client, server, relay, agent).
 * Each end needs the memory allowance, not only the agent: with Node's 10 MB, 64 streams
 * moving data at once through the relay were refused with ENHANCE_YOUR_CALM.
 */
export const TUNNEL_SESSION_OPTIONS = { settings: TUNNEL_SETTINGS, maxSessionMemory: TUNNEL_SESSION_MEMORY_MB } as const;

/**
 * Readies a session that carries streams, on any of the four ends of the two tunnel legs:
 * `onError` hears its errors (an unheard one would end the process), and the connection-level
 * receive window is raised once the peer's SETTINGS arrived (SETTINGS only sets the
 * per-stream window; the connection window needs its own WINDOW_UPDATE).
 */
export function readyTunnelSession(session: Http2Session, onError: (err: Error) => void = () => {}): void {
  session.on("error", onError);
  session.once("remoteSettings", () => {
    if (!session.destroyed) session.setLocalWindowSize(TUNNEL_WINDOW.connectionWindowBytes);
  });
}
