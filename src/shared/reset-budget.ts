import http2, { type ClientHttp2Stream } from "node:http2";
import { TokenBucket } from "./token-bucket.js";

/**
 * nghttp2 ends a connection (GOAWAY INTERNAL_ERROR) whose client sends RST_STREAM faster
 * than 33 per second after a burst of 1000 (its "rapid reset" defence; Node 20 cannot
 * change those numbers). The relay is the client of every agent's tunnel and
 * `fernlink connect` the client of its connection to the server, so a reset they send is
 * spent from a budget that stays well inside that limit; a reset over budget waits its turn.
 */
export const RESET_BUDGET = { ratePerSecond: 20, burst: 500 } as const;

/** Sends one client-role session's RST_STREAMs within the peer's rate limit, queueing the excess. */
export class ResetBudget {
  private readonly bucket: TokenBucket;
  private readonly queue: ClientHttp2Stream[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(options: { ratePerSecond: number; burst: number } = RESET_BUDGET, now: () => number = Date.now) {
    this.bucket = new TokenBucket(options.ratePerSecond, options.burst, now);
  }

  /** Streams waiting for their reset. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Resets `stream` now if the budget allows, else as soon as it does. */
  reset(stream: ClientHttp2Stream): void {
    if (stream.closed || stream.destroyed) return;
    if (this.queue.length === 0 && this.bucket.take()) return void stream.close(http2.constants.NGHTTP2_CANCEL);
    // Whatever still arrives is dropped: a paused stream would hold the whole connection's window.
    stream.resume();
    this.queue.push(stream);
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.queue.length === 0) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.drain();
      },
      Math.max(1, this.bucket.waitMs()),
    );
    this.timer.unref();
  }

  /** Resets queued streams while the budget lasts; streams that closed meanwhile cost nothing. */
  drain(): void {
    while (this.queue.length > 0) {
      const stream = this.queue[0]!;
      if (!stream.closed && !stream.destroyed) {
        if (!this.bucket.take()) break;
        stream.close(http2.constants.NGHTTP2_CANCEL);
      }
      this.queue.shift();
    }
    this.schedule();
  }
}
