import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import { ALPN } from "../protocol/alpn.js";
import { FernlinkError } from "../protocol/errors.js";
import { decodeLaneMessage, encodeLaneMessage, type LaneMessage } from "../protocol/lane.js";
import { type DialOptions, dialTls } from "./server-dialer.js";

/** How long a lane's TCP and TLS handshakes may take; its stream goes on on HTTP/2 meanwhile. */
const LANE_DIAL_MS = 10_000;

/**
 * Dials a lane (protocol/lane.ts) for a client or an agent: TLS with the lane ALPN, straight or
 * through the proxy, never the WebSocket transport; readied with holdHalfOpen. The caller sends
 * the nonce once it knows its stream still wants the lane.
 */
export async function dialLaneSocket(options: Omit<DialOptions, "alpn" | "timeoutMs" | "transport">): Promise<TLSSocket> {
  const socket = await dialTls({ ...options, alpn: [ALPN.lane], timeoutMs: LANE_DIAL_MS, transport: "tls" });
  holdHalfOpen(socket);
  return socket;
}

/**
 * Reads a lane's one message from `socket` (protocol/lane.ts) within `timeoutMs`; bytes that
 * came after it are put back, so the first frames are read by whoever reads the socket next. The socket is left paused. Rejects with a FernlinkError on a malformed message, a close
 * or the deadline; the socket is then destroyed.
 */
export function readLaneMessage(socket: Duplex, timeoutMs: number): Promise<LaneMessage> {
  return new Promise((resolve, reject) => {
    let buffered: Buffer = Buffer.alloc(0);
    const done = (): void => {
      clearTimeout(timer);
      socket.removeListener("data", onData);
      socket.removeListener("end", onEnd);
      socket.removeListener("close", onEnd);
      socket.removeListener("error", onError);
    };
    const fail = (err: FernlinkError): void => {
      done();
      socket.destroy();
      reject(err);
    };
    const onData = (chunk: Buffer): void => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      let decoded: ReturnType<typeof decodeLaneMessage>;
      try {
        decoded = decodeLaneMessage(buffered);
      } catch (err) {
        fail(err as FernlinkError);
        return;
      }
      if (!decoded) return;
      done();
      socket.pause();
      if (decoded.rest.length > 0) socket.unshift(decoded.rest);
      resolve(decoded.message);
    };
    const onEnd = (): void => fail(new FernlinkError("server-unreachable", "the lane closed before its first message"));
    const onError = (err: Error): void =>
      fail(new FernlinkError("server-unreachable", `the lane failed before its first message: ${err.message}`, { cause: err }));
    const timer = setTimeout(() => fail(new FernlinkError("target-timeout", `no lane message within ${timeoutMs / 1000} s`)), timeoutMs);
    socket.on("data", onData);
    socket.once("end", onEnd);
    socket.once("close", onEnd);
    socket.once("error", onError);
  });
}

/**
 * Readies a lane's TLS socket: the peer's FIN must not end our side before our own end frame
 * is out (Node's sockets end both by default), and every write goes out at once.
 */
export function holdHalfOpen(socket: TLSSocket): void {
  socket.allowHalfOpen = true;
  socket.setNoDelay(true);
}

/** Writes one lane message. */
export function writeLaneMessage(socket: Duplex, message: LaneMessage): void {
  socket.write(encodeLaneMessage(message));
}
