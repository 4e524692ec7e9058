import type { Http2Session } from "node:http2";
import { TUNNEL_WINDOW } from "../protocol/tunnel-settings.js";

/**
 * Raises the session's connection-level receive window once the peer's SETTINGS arrived
 * (the SETTINGS frame only sets the per-stream window; the connection window needs its
 * own WINDOW_UPDATE). Used on all four ends of both tunnel legs.
 */
export function widenConnectionWindow(session: Http2Session): void {
  session.once("remoteSettings", () => {
    if (!session.destroyed) session.setLocalWindowSize(TUNNEL_WINDOW.connectionWindowBytes);
  });
}
