/** One server-sent event or comment, as a test reads it. */
export interface SseMessage {
  event?: string;
  data?: string;
  comment?: string;
  retry?: number;
}

/**
 * Reads server-sent events from a response body, for tests: `next()` resolves with the next
 * message, or "end" when the server ended the response.
 */
export class SseReader {
  private buffer = "";
  private readonly queue: (SseMessage | "end")[] = [];
  private readonly decoder = new TextDecoder();
  private started = false;
  private wake: (() => void) | undefined;

  constructor(private readonly body: AsyncIterable<Uint8Array | string>) {}

  /** The next message, or "end"; rejects after `timeoutMs`. */
  async next(timeoutMs = 2_000): Promise<SseMessage | "end"> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no server-sent event within ${timeoutMs} ms`);
      if (!this.started) {
        this.started = true;
        void this.pump();
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    // "end" stays: every later call answers it too.
    return this.queue[0] === "end" ? "end" : this.queue.shift()!;
  }

  /** Skips messages until one matches; rejects on "end" or after `timeoutMs`. */
  async waitFor(match: (m: SseMessage) => boolean, timeoutMs = 2_000): Promise<SseMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = await this.next(Math.max(1, deadline - Date.now()));
      if (m === "end") throw new Error("the event stream ended before the awaited event");
      if (match(m)) return m;
    }
  }

  /** Resolves once the server ended the response, skipping messages; rejects after `timeoutMs`. */
  async ended(timeoutMs = 2_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.next(Math.max(1, deadline - Date.now()))) !== "end");
  }

  private async pump(): Promise<void> {
    const iterator = this.body[Symbol.asyncIterator]();
    for (;;) {
      let step: IteratorResult<Uint8Array | string>;
      try {
        step = await iterator.next();
      } catch {
        step = { done: true, value: undefined };
      }
      if (step.done) {
        this.queue.push("end");
        this.wake?.();
        return;
      }
      this.buffer += typeof step.value === "string" ? step.value : this.decoder.decode(step.value, { stream: true });
      for (let cut = this.buffer.indexOf("\n\n"); cut >= 0; cut = this.buffer.indexOf("\n\n")) {
        const block = this.buffer.slice(0, cut);
        this.buffer = this.buffer.slice(cut + 2);
        this.queue.push(parseBlock(block));
      }
      this.wake?.();
    }
  }
}

function parseBlock(block: string): SseMessage {
  const m: SseMessage = {};
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) m.comment = line.slice(1).trim();
    else if (line.startsWith("event: ")) m.event = line.slice(7);
    else if (line.startsWith("data: ")) m.data = m.data === undefined ? line.slice(6) : `${m.data}\n${line.slice(6)}`;
    else if (line.startsWith("retry: ")) m.retry = Number(line.slice(7));
  }
  return m;
}
