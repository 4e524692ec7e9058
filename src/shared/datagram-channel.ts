import type { Duplex } from "node:stream";
import { DatagramDecoder, encodeDatagram } from "../protocol/datagram-capsule.js";
import { abortStream } from "./stream-cancel.js";

/**
 * How many bytes of capsules may wait in a stream's write buffer before new datagrams are
 * dropped: UDP's answer to a full path is loss, not a growing queue, so a stalled stream delays
 * at most this much behind it (≈ 45 datagrams of 1,400 bytes) and memory stays bounded.
 */
export const MAX_QUEUED_BYTES = 64 * 1024;

/** Datagrams over one stream, both ways. */
export interface DatagramChannel {
  /** Sends one datagram; false when it was dropped because the stream is backed up or closed. */
  send(payload: Buffer): boolean;
  /** Datagrams dropped so far on the way into the stream. */
  readonly dropped: number;
  /** Ends this side of the stream normally. */
  close(): void;
  /** Gives the stream up (a cancel trailer or a reset, as for any stream). */
  abort(): void;
}

/** What a channel tells its owner. */
export interface DatagramChannelEvents {
  onDatagram: (payload: Buffer) => void;
  /** The peer ended its side, the stream failed, or its capsules were malformed; called once. */
  onEnd: (err: Error | undefined) => void;
  /** No datagram either way for `idleMs`; called once. */
  onIdle?: () => void;
  idleMs?: number;
}

/**
 * Carries datagrams as DATAGRAM capsules on a stream (an HTTP/2 CONNECT stream marked udp). The
 * stream itself stays ordered; the channel only frames, drops when backed up, and watches for
 * idleness.
 */
export function datagramChannel(stream: Duplex, events: DatagramChannelEvents): DatagramChannel {
  const decoder = new DatagramDecoder();
  let lastActive = Date.now();
  let ended = false;
  let dropped = 0;
  let idleTimer: NodeJS.Timeout | undefined;

  const end = (err: Error | undefined): void => {
    if (ended) return;
    ended = true;
    clearTimeout(idleTimer);
    events.onEnd(err);
  };
  const armIdle = (delay: number): void => {
    if (!events.idleMs || !events.onIdle) return;
    idleTimer = setTimeout(() => {
      const quiet = Date.now() - lastActive;
      if (ended) return;
      // Activity moves the deadline without a timer per datagram: re-arm for what is left.
      if (quiet < (events.idleMs ?? 0)) return armIdle((events.idleMs ?? 0) - quiet);
      clearTimeout(idleTimer);
      events.onIdle?.();
    }, delay);
    idleTimer.unref();
  };

  stream.on("data", (chunk: Buffer) => {
    let datagrams: Buffer[];
    try {
      datagrams = decoder.push(chunk);
    } catch (err) {
      abortStream(stream);
      return end(err as Error);
    }
    if (datagrams.length > 0) lastActive = Date.now();
    for (const d of datagrams) events.onDatagram(d);
  });
  stream.once("end", () => end(undefined));
  stream.once("error", (err) => end(err));
  stream.once("close", () => end(undefined));
  armIdle(events.idleMs ?? 0);

  return {
    send(payload) {
      if (ended || stream.writableEnded || stream.destroyed || stream.writableLength > MAX_QUEUED_BYTES) {
        dropped++;
        return false;
      }
      lastActive = Date.now();
      stream.write(encodeDatagram(payload));
      return true;
    },
    get dropped() {
      return dropped;
    },
    close() {
      clearTimeout(idleTimer);
      if (!stream.writableEnded && !stream.destroyed) stream.end();
    },
    abort() {
      clearTimeout(idleTimer);
      abortStream(stream);
    },
  };
}
