import { randomBytes } from "node:crypto";
import type { Duplex } from "node:stream";

/** A stream's offer of a lane, until the stream ends or the lane came. */
interface Offer {
  /** The device whose certificate the lane must show (agent hop); undefined: the client's nonce is its proof. */
  deviceId: string | undefined;
  take: (lane: Duplex) => void;
}

const NONCE_BYTES = 16;
/** Nonces are cut from a pool of random bytes: a randomBytes call of its own took 6–20 µs, and every stream takes two. */
const NONCE_POOL_BYTES = NONCE_BYTES * 256;
let pool = Buffer.alloc(0);
let used = 0;

/** A fresh one-time nonce: 128 random bits, base64url. */
export function laneNonce(): string {
  if (used + NONCE_BYTES > pool.length) {
    pool = randomBytes(NONCE_POOL_BYTES);
    used = 0;
  }
  const nonce = pool.toString("base64url", used, used + NONCE_BYTES);
  // Each piece is handed out once: the bytes are not kept readable for the next caller.
  pool.fill(0, used, used + NONCE_BYTES);
  used += NONCE_BYTES;
  return nonce;
}

/**
 * The lanes (protocol/lane.ts) this relay offered, by the one-time nonce it sent in the offer.
 * A lane is taken only once, and on the agent hop only from the device it was offered to (its
 * certificate's device id); one nobody offered is closed by the caller. A client's nonce went
 * to it alone, in the answer on its authenticated connection, so it proves the lane is the
 * client's.
 */
export class LaneBoard {
  private readonly offers = new Map<string, Offer>();

  /** Offers a lane to a stream; returns the nonce to send, and `withdraw` for the stream's end. */
  offer(deviceId: string | undefined, take: (lane: Duplex) => void): { nonce: string; withdraw: () => void } {
    const nonce = laneNonce();
    this.offers.set(nonce, { deviceId, take });
    return { nonce, withdraw: () => this.offers.delete(nonce) };
  }

  /** Hands an arrived lane to its stream; false (the caller closes it) when nobody offered it to this peer. */
  deliver(nonce: string, deviceId: string | undefined, lane: Duplex): boolean {
    const offer = this.offers.get(nonce);
    if (!offer || (offer.deviceId !== undefined && offer.deviceId !== deviceId)) return false;
    this.offers.delete(nonce);
    offer.take(lane);
    return true;
  }
}
