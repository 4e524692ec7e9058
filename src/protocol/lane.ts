import { FernlinkError } from "./errors.js";

/**
 * A lane: one TLS connection (ALPN `fernlink-lane/1`) that carries the rest of one TCP stream,
 * so a bulk stream gets a TCP connection, its windows and its event-loop turns to itself
 * instead of sharing an HTTP/2 connection with every other stream (frp's and rathole's data
 * connections). A stream always opens on HTTP/2, at no extra round trip; it moves once it has
 * carried LANE_MOVE_BYTES, so short streams never pay a TLS handshake, and only on a hop whose
 * round trip is short (LANE_MAX_RTT_MS); each side decides for its own hop.
 *
 * offer:  the relay puts a one-time nonce in the header fernlink-lane: in its 200 to a client's
 *         CONNECT, and in the CONNECT it sends an agent. Absent: the stream stays where it is.
 * move:   the side that got the offer (client, agent) dials the relay with the lane ALPN (an
 *         agent with its device certificate) and sends one message, `{"fernlink-lane": NONCE}`;
 *         the relay answers nothing on it. Each side, once it has the lane, ends its HTTP/2 half
 *         with the trailer `fernlink-moved: 1` and sends the rest on the lane; each reads the
 *         HTTP/2 stream up to that trailer, then the lane. A half that already ended plainly
 *         stays ended, and that side ends the lane's direction at once.
 * frames: after the message, each direction is framed (frameHeader, below) and ends with an
 *         empty frame; a side closes the connection once both directions ended. Giving up is
 *         closing it before that.
 *
 * A message is a 4-byte big-endian length and that many bytes of a JSON object whose values are
 * strings or numbers.
 */

/** A stream moves to a lane once it has carried this much, both directions counted. */
export const LANE_MOVE_BYTES = 1024 * 1024;

/**
 * A side moves streams to lanes only on a hop whose measured round trip is shorter than this.
 * Lanes buy CPU and windows of their own where the path is fast; over a long round trip the
 * path is the limit, and a new connection's handshakes and slow start cost seconds. Measured
 * across an emulated WAN (bench/wan-delay.py), one iperf3 stream, lanes against none: at 20 ms
 * the same (about 1.1 Gbit/s both ways); at 50 ms 0.12–0.17 against 0.32–0.34 Gbit/s in the
 * first second and less after; at 200 ms a download ran at 3–6 Mbit/s for 2–3 s after its
 * move, where HTTP/2 carried 95–145 Mbit/s from the first second.
 */
export const LANE_MAX_RTT_MS = 30;

/** Whether a hop with this measured round trip (undefined: not measured yet) moves its streams to lanes. */
export function laneWorthIt(roundTripMs: number | undefined): boolean {
  return roundTripMs !== undefined && roundTripMs < LANE_MAX_RTT_MS;
}

/**
 * Lanes one client, or one agent, holds at once; past that, streams stay on HTTP/2. Many bulk
 * streams in parallel gain nothing from more connections through the same processes, and each
 * would pay a TLS handshake on each hop (64 parallel uploads ran at half the rate).
 */
export const LANES_MAX = 8;

/** The header that offers a stream's lane: its one-time nonce. */
export const LANE_HEADER = "fernlink-lane";

/** The trailer that ends one direction's HTTP/2 half of a stream whose bytes go on on its lane. */
export const MOVED_HEADER = "fernlink-moved";

/** Far longer than a lane's one message (a nonce) needs: a bound on what a stranger can make the relay buffer. */
export const LANE_MESSAGE_MAX = 16 * 1024;

/** One lane message: header names to values. */
export type LaneMessage = Record<string, string | number>;

/** The bytes of one message. */
export function encodeLaneMessage(message: LaneMessage): Buffer {
  const body = Buffer.from(JSON.stringify(message), "utf8");
  if (body.length > LANE_MESSAGE_MAX) throw new FernlinkError("invalid-input", `a lane message may be at most ${LANE_MESSAGE_MAX} bytes`);
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

/**
 * Reads the first message from `buffered` (all bytes received so far): undefined while it is
 * incomplete, else the message and the bytes after it (the first frames). Throws a
 * FernlinkError for a message that is too long or not a flat JSON object of strings and numbers.
 */
export function decodeLaneMessage(buffered: Buffer): { message: LaneMessage; rest: Buffer } | undefined {
  if (buffered.length < 4) return undefined;
  const length = buffered.readUInt32BE(0);
  if (length > LANE_MESSAGE_MAX) throw new FernlinkError("invalid-input", `lane message of ${length} bytes is longer than ${LANE_MESSAGE_MAX}`);
  if (buffered.length < 4 + length) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(buffered.subarray(4, 4 + length).toString("utf8"));
  } catch (err) {
    throw new FernlinkError("invalid-input", "lane message is not JSON", { cause: err });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new FernlinkError("invalid-input", "lane message is not a JSON object");
  const message: LaneMessage = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (typeof value !== "string" && typeof value !== "number")
      throw new FernlinkError("invalid-input", `lane message field "${name.slice(0, 40)}" is not a string`);
    message[name] = value;
  }
  return { message, rest: buffered.subarray(4 + length) };
}

/**
 * After the first message, each direction of a lane is a run of frames, a 4-byte big-endian
 * length and that many bytes, and ends with a frame of length 0. The end travels inside TLS, not
 * as TLS's own close_notify: Node's TLS layer drops records it has received but not yet read
 * when its socket is ended, so a side ends the connection only once both directions' last frames
 * are through.
 */
export function frameHeader(length: number): Buffer {
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32BE(length, 0);
  return header;
}

/** Splits the bytes of one direction of a lane back into its frames' payloads and its end. */
export class FrameReader {
  private readonly header = Buffer.alloc(4);
  private headerFilled = 0;
  /** Payload bytes of the current frame still to come. */
  private remaining = 0;
  private ended = false;

  /** True once the end frame came. */
  get done(): boolean {
    return this.ended;
  }

  /** Hands each payload piece of `chunk` to `payload`, and the end frame to `end`; throws on bytes after the end. */
  feed(chunk: Buffer, payload: (piece: Buffer) => void, end: () => void): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.ended) throw new FernlinkError("invalid-input", "a lane sent bytes after the end of its direction");
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - offset);
        payload(chunk.subarray(offset, offset + take));
        offset += take;
        this.remaining -= take;
        continue;
      }
      const take = Math.min(4 - this.headerFilled, chunk.length - offset);
      chunk.copy(this.header, this.headerFilled, offset, offset + take);
      this.headerFilled += take;
      offset += take;
      if (this.headerFilled < 4) return;
      this.headerFilled = 0;
      this.remaining = this.header.readUInt32BE(0);
      if (this.remaining === 0) {
        this.ended = true;
        end();
      }
    }
  }
}
