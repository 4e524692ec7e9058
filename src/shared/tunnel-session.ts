import type { Http2Session } from "node:http2";
import {
  connectionWindowFor,
  streamWindowForRtt,
  TUNNEL_SESSION_MEMORY_MB,
  TUNNEL_SETTINGS,
  TUNNEL_WINDOW,
  WINDOW_TUNING,
} from "../protocol/tunnel-settings.js";

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
 * per-stream window; the connection window needs its own WINDOW_UPDATE). Then the receive
 * windows are sized to the hop's round trip (`tuneReceiveWindows`); the promise returned
 * resolves with the stream window then announced (undefined if the session went first).
 */
export function readyTunnelSession(session: Http2Session, onError: (err: Error) => void = () => {}): Promise<number | undefined> {
  session.on("error", onError);
  return new Promise((resolve) =>
    session.once("remoteSettings", () => {
      if (session.destroyed) return resolve(undefined);
      session.setLocalWindowSize(TUNNEL_WINDOW.connectionWindowBytes);
      resolve(tuneReceiveWindows(session));
    }),
  );
}

/** Each readied session's round trip, as tuneReceiveWindows measured it. */
const roundTrips = new WeakMap<Http2Session, number>();

/** The hop's round trip in milliseconds as measured when the session was readied; undefined before that. */
export function hopRoundTripMs(session: Http2Session): number | undefined {
  return roundTrips.get(session);
}

/** One PING's round trip in milliseconds, or undefined when it could not be sent or was not answered. */
function pingOnce(session: Http2Session): Promise<number | undefined> {
  return new Promise((resolve) => {
    if (session.destroyed || session.closed) return resolve(undefined);
    try {
      const sent = session.ping((err, duration) => resolve(err ? undefined : duration));
      if (!sent) resolve(undefined);
    } catch {
      resolve(undefined);
    }
  });
}

/**
 * Measures the hop's round trip with a few PINGs and announces the stream window it needs
 * (`streamWindowForRtt`): small on a LAN, so a bulk stream queues little ahead of its small
 * siblings, large on a long path, so one stream can fill it. Resolves with the window set,
 * or undefined when the session went first.
 */
export async function tuneReceiveWindows(session: Http2Session): Promise<number | undefined> {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < WINDOW_TUNING.probes; i++) {
    const rtt = await pingOnce(session);
    if (rtt === undefined) return undefined;
    best = Math.min(best, rtt);
  }
  if (session.destroyed || session.closed) return undefined;
  roundTrips.set(session, best);
  const window = streamWindowForRtt(best);
  try {
    session.settings({ initialWindowSize: window });
    session.setLocalWindowSize(connectionWindowFor(window));
  } catch {
    return undefined; // closing meanwhile
  }
  return window;
}
