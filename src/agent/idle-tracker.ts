/**
 * How long a tunnel has carried no stream: the clock restarts when the last open stream
 * closes, and stands still while any is open. The clock is injected, for tests.
 */
export class IdleTracker {
  private open = 0;
  private since: number;

  constructor(private readonly now: () => number) {
    this.since = now();
  }

  /** A stream opened. */
  opened(): void {
    this.open++;
  }

  /** A stream closed. */
  closed(): void {
    this.open = Math.max(0, this.open - 1);
    if (this.open === 0) this.since = this.now();
  }

  /** Starts the idle time again (the service said the tunnel is still wanted). */
  touch(): void {
    this.since = this.now();
  }

  /** Milliseconds without any open stream; 0 while one is open. */
  idleMs(): number {
    return this.open > 0 ? 0 : this.now() - this.since;
  }
}
