import { setTimeout as sleep } from "node:timers/promises";

/**
 * Writes that run beside the request that caused them (audit rows, last-seen times).
 * Shutdown drains them before the store closes, so none is lost half-way.
 */
export class BackgroundWork {
  private readonly pending = new Set<Promise<unknown>>();

  /** Registers a promise until it settles; returns it unchanged. */
  track<T>(promise: Promise<T>): Promise<T> {
    this.pending.add(promise);
    void promise.then(
      () => this.pending.delete(promise),
      () => this.pending.delete(promise),
    );
    return promise;
  }

  /** Waits until nothing is pending (work started meanwhile included), or `timeoutMs` passed. */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.pending.size > 0 && Date.now() < deadline) {
      await Promise.race([Promise.allSettled([...this.pending]), sleep(deadline - Date.now())]);
    }
  }
}
