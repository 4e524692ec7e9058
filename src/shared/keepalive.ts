import type { Http2Session } from "node:http2";
import { decodeKeepalivePing, encodeKeepalivePing } from "../protocol/keepalive-ping.js";
import { KEEPALIVE } from "../protocol/tunnel-settings.js";

/** Timing of the keep-alive PINGs on one tunnel. */
export interface KeepaliveOptions {
  intervalMs?: number;
  timeoutMs?: number;
  /** Called once when a PING went unanswered; the session is destroyed right after. */
  onDead?: () => void;
  /**
   * The PINGs carry this timing (protocol/keepalive-ping.ts) and the first goes out at once, so
   * a passive peer learns how long this end may stay silent before it would cut the session.
   */
  announce?: boolean;
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
  const payload = options.announce ? encodeKeepalivePing({ intervalMs, timeoutMs }) : undefined;
  const dead = (): void => {
    stop();
    options.onDead?.();
    session.destroy(new Error(`keep-alive: no answer to PING within ${timeoutMs} ms`));
  };
  const ping = (): void => {
    if (deadline || session.destroyed || session.closed) return;
    deadline = setTimeout(dead, timeoutMs);
    const answered = (err: Error | null): void => {
      clearTimeout(deadline);
      deadline = undefined;
      if (err && !session.destroyed && !session.closed) dead();
    };
    const sent = payload ? session.ping(payload, answered) : session.ping(answered);
    if (!sent) {
      clearTimeout(deadline);
      deadline = undefined;
    }
  };
  const tick = setInterval(ping, intervalMs);
  tick.unref();
  if (payload) ping();
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
 * noticed it, without sending a byte. A PING that announces its sender's timing
 * (`announce` above) replaces `options`' interval and timeout from then on, so a peer that
 * PINGs every 5 minutes is not cut after 25 s. Stops by itself when the session closes, and
 * leaves a session closing gracefully alone (a peer that sent GOAWAY cannot PING any more).
 */
export function watchKeepalive(session: Http2Session, options: KeepaliveOptions = {}): () => void {
  let silenceMs = (options.intervalMs ?? KEEPALIVE.intervalMs) + (options.timeoutMs ?? KEEPALIVE.timeoutMs);
  const silent = (): void => {
    stop();
    if (session.closed) return;
    options.onDead?.();
    session.destroy(new Error(`keep-alive: no PING from the peer within ${silenceMs} ms`));
  };
  let timer = setTimeout(silent, silenceMs);
  timer.unref();
  const heard = (payload: Buffer): void => {
    const timing = decodeKeepalivePing(payload);
    const wanted = timing ? timing.intervalMs + timing.timeoutMs : silenceMs;
    if (wanted === silenceMs) return void timer.refresh();
    silenceMs = wanted;
    clearTimeout(timer);
    timer = setTimeout(silent, silenceMs);
    timer.unref();
  };
  session.on("ping", heard);
  const stop = (): void => {
    clearTimeout(timer);
    session.removeListener("ping", heard);
  };
  session.once("close", stop);
  return stop;
}
