import { FernlinkError } from "./errors.js";

/**
 * UDP datagrams on a byte stream, as RFC 9298 (CONNECT-UDP) carries them over HTTP/2: each
 * datagram is one DATAGRAM capsule (RFC 9297 §3.2) — Type 0x00, Length, then Context ID 0 and
 * the UDP payload — so boundaries survive the stream. Integers are QUIC variable-length
 * integers (RFC 9000 §16). Pure: no sockets here.
 */

/** Capsule type of a DATAGRAM capsule. */
export const DATAGRAM_CAPSULE_TYPE = 0x00;

/** The largest UDP payload (65,535 minus the 8-byte UDP header); IPv4 allows 20 bytes less, the socket says so. */
export const MAX_UDP_PAYLOAD = 65_527;

/** The largest capsule value accepted: context ID (≤ 8 bytes) and a maximal payload. Larger is malformed, never buffered. */
export const MAX_CAPSULE_VALUE = MAX_UDP_PAYLOAD + 8;

/** The largest value a variable-length integer can hold (2^62 − 1); this codec keeps to safe integers. */
export const MAX_VARINT = Number.MAX_SAFE_INTEGER;

/** Bytes a variable-length integer of this value takes. */
export function varintLength(value: number): 1 | 2 | 4 | 8 {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`varint out of range: ${value}`);
  if (value < 0x40) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x4000_0000) return 4;
  return 8;
}

/** Writes `value` as a variable-length integer at `offset`; returns the offset after it. */
export function writeVarint(buf: Buffer, offset: number, value: number): number {
  const length = varintLength(value);
  switch (length) {
    case 1:
      buf[offset] = value;
      break;
    case 2:
      buf.writeUInt16BE(0x4000 | value, offset);
      break;
    case 4:
      buf.writeUInt32BE((0x8000_0000 | value) >>> 0, offset);
      break;
    case 8:
      buf.writeBigUInt64BE((0b11n << 62n) | BigInt(value), offset);
      break;
  }
  return offset + length;
}

/** A variable-length integer read from a buffer, or undefined when the buffer ends inside it. */
export function readVarint(buf: Buffer, offset: number): { value: number; next: number } | undefined {
  const first = buf[offset];
  if (first === undefined) return undefined;
  const length = 1 << (first >> 6);
  if (buf.length < offset + length) return undefined;
  switch (length) {
    case 1:
      return { value: first & 0x3f, next: offset + 1 };
    case 2:
      return { value: buf.readUInt16BE(offset) & 0x3fff, next: offset + 2 };
    case 4:
      return { value: (buf.readUInt32BE(offset) & 0x3fff_ffff) >>> 0, next: offset + 4 };
    default: {
      const big = buf.readBigUInt64BE(offset) & ((1n << 62n) - 1n);
      // Lengths and types this large are refused by the caller; saturate rather than lose bits.
      return { value: big > BigInt(MAX_VARINT) ? Number.POSITIVE_INFINITY : Number(big), next: offset + 8 };
    }
  }
}

/** One UDP payload as a DATAGRAM capsule with context ID 0. */
export function encodeDatagram(payload: Uint8Array): Buffer {
  if (payload.length > MAX_UDP_PAYLOAD)
    throw new FernlinkError("invalid-input", `a UDP datagram holds at most ${MAX_UDP_PAYLOAD} bytes, not ${payload.length}`);
  const valueLength = 1 + payload.length;
  const out = Buffer.allocUnsafe(1 + varintLength(valueLength) + valueLength);
  let at = writeVarint(out, 0, DATAGRAM_CAPSULE_TYPE);
  at = writeVarint(out, at, valueLength);
  at = writeVarint(out, at, 0);
  out.set(payload, at);
  return out;
}

const EMPTY = Buffer.alloc(0);

/**
 * Incremental capsule reader: chunks may split or join capsules anywhere. Returns the UDP
 * payloads of complete DATAGRAM capsules; capsules of other types and datagrams with another
 * context ID are skipped (RFC 9297 §3.2, RFC 9298 §4). A capsule longer than
 * MAX_CAPSULE_VALUE throws "invalid-input" before anything of it is buffered.
 */
export class DatagramDecoder {
  #buffer: Buffer = EMPTY;

  /** Bytes held waiting for the rest of a capsule. */
  get buffered(): number {
    return this.#buffer.length;
  }

  /** Feeds bytes; returns the datagrams they completed, in order. */
  push(chunk: Buffer): Buffer[] {
    const buf = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const out: Buffer[] = [];
    let at = 0;
    for (;;) {
      const type = readVarint(buf, at);
      if (!type) break;
      const length = readVarint(buf, type.next);
      if (!length) break;
      if (length.value > MAX_CAPSULE_VALUE) {
        throw new FernlinkError("invalid-input", `a capsule of ${length.value} bytes is longer than the ${MAX_CAPSULE_VALUE} a UDP datagram needs`);
      }
      const end = length.next + length.value;
      if (buf.length < end) break;
      if (type.value === DATAGRAM_CAPSULE_TYPE) {
        const value = buf.subarray(length.next, end);
        const context = readVarint(value, 0);
        if (!context) throw new FernlinkError("invalid-input", "a DATAGRAM capsule has no context ID");
        // Copied: the payload must not pin the whole chunk it arrived in.
        if (context.value === 0) out.push(Buffer.from(value.subarray(context.next)));
      }
      at = end;
    }
    this.#buffer = at === buf.length ? EMPTY : Buffer.from(buf.subarray(at));
    return out;
  }
}
