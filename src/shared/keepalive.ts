import type { Http2Session } from "node:http2";
import { KEEPALIVE } from "../protocol/tunnel-settings.js";

/** Timing of the keep-alive PINGs on one tunnel. */
export interface KeepaliveOptions {
  intervalMs?: number;
  timeoutMs?: number;
  /** Called once when a PING went unanswered; the session is destroyed right after. */
  onDead?: () => void;
}

/**
 * Sends an HTTP/2 PING every interval and destroys the session when one is not answered
 * in time, so a half-dead TCP path (NAT dropped, cable pulled) is noticed in seconds,
 * not after the kernel's hours-long TCP timeout. Stops by itself when the session closes.
 * A session closing gracefully (GOAWAY sent or received) is left alone: Node cancels every
 * PING on it at once, which says nothing about the peer, and it ends when its streams do.
 */
export function startKeepalive(session: Http2Session, options: KeepaliveOptions = {}): () => void {
  const intervalMs = options.intervalMs ?? KEEPALIVE.intervalMs;
  const timeoutMs = options.timeoutMs ?? KEEPALIVE.timeoutMs;
  let deadline: NodeJS.Timeout | undefined;
  const dead = (): void => {
    stop();
    options.onDead?.();
    session.destroy(new Error(`keep-alive: no answer to PING within ${timeoutMs} ms`));
  };
  const tick = setInterval(() => {
    if (deadline || session.destroyed || session.closed) return;
    deadline = setTimeout(dead, timeoutMs);
    const sent = session.ping((err) => {
      clearTimeout(deadline);
      deadline = undefined;
      if (err && !session.destroyed && !session.closed) dead();
    });
    if (!sent) {
      clearTimeout(deadline);
      deadline = undefined;
    }
  }, intervalMs);
  tick.unref();
  const stop = (): void => {
    clearInterval(tick);
    clearTimeout(deadline);
  };
  session.once("close", stop);
  return stop;
}

/**
 * The passive end of a keep-alive: the peer PINGs (`startKeepalive` on its side) and this end
 * only listens. Silence for a whole interval plus the answer time the pinging side allows
 * itself means the peer or the path is dead, noticed as soon as an active PING would have
 * noticed it, without sending a byte. Stops by itself when the session closes, and leaves a
 * session closing gracefully alone (a peer that sent GOAWAY cannot PING any more).
 */
export function watchKeepalive(session: Http2Session, options: KeepaliveOptions = {}): () => void {
  const silenceMs = (options.intervalMs ?? KEEPALIVE.intervalMs) + (options.timeoutMs ?? KEEPALIVE.timeoutMs);
  const timer = setTimeout(() => {
    stop();
    if (session.closed) return;
    options.onDead?.();
    session.destroy(new Error(`keep-alive: no PING from the peer within ${silenceMs} ms`));
  }, silenceMs);
  timer.unref();
  const heard = (): void => void timer.refresh();
  session.on("ping", heard);
  const stop = (): void => {
    clearTimeout(timer);
    session.removeListener("ping", heard);
  };
  session.once("close", stop);
  return stop;
}
