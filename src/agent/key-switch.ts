import type { SwitchState } from "../protocol/key-switch.js";
import type { SwitchReading } from "./switch-source.js";

/** The IO the switch watcher uses, injected so tests drive it in memory. */
export interface KeySwitchIO {
  /** Reads the switch once. */
  read: () => Promise<SwitchReading>;
  /** Runs `fn` after `ms`; returns a cancel function. */
  setTimer: (fn: () => void, ms: number) => () => void;
  /** Calls `changed` whenever the source may have changed (a file watch); returns a stop function. */
  watch?: (changed: () => void) => () => void;
}

/** How the switch is watched. */
export interface KeySwitchOptions {
  /** Time between two readings (the fallback when a watch misses a change). */
  pollMs: number;
  /** The state while the switch cannot be read: the owner's switch is the authority, so the default is `off`. */
  failState?: SwitchState;
  /** Told once when a reading fails (and again when the problem changes), and with undefined when it reads again. */
  onProblem?: (problem: string | undefined) => void;
}

/** A change of the switch's position. */
export interface SwitchChange {
  from: SwitchState;
  to: SwitchState;
}

/**
 * The key switch as the agent sees it: read at start, then on every watch event and every
 * `pollMs`, one reading at a time. Until the first reading, and whenever a reading fails, it is
 * at the fail state, so nothing is allowed that the owner's switch may forbid.
 */
export class KeySwitch {
  #state: SwitchState;
  #problem: string | undefined;
  readonly #io: KeySwitchIO;
  readonly #options: Required<Pick<KeySwitchOptions, "pollMs" | "failState">> & KeySwitchOptions;
  readonly #listeners = new Set<(change: SwitchChange) => void>();
  #reading: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  #cancelTimer: (() => void) | undefined;
  #stopWatch: (() => void) | undefined;

  constructor(io: KeySwitchIO, options: KeySwitchOptions) {
    this.#io = io;
    this.#options = { failState: "off", ...options };
    this.#state = this.#options.failState;
  }

  /** The position now. */
  get state(): SwitchState {
    return this.#state;
  }

  /** Why the last reading failed, if it did. */
  get problem(): string | undefined {
    return this.#problem;
  }

  /** Reads the switch once, then keeps watching it until `stop`. */
  async start(): Promise<SwitchState> {
    this.#stopWatch = this.#io.watch?.(() => this.refresh());
    await this.refresh();
    return this.#state;
  }

  /** Stops watching; the state stays as last read. */
  stop(): void {
    this.#stopped = true;
    this.#cancelTimer?.();
    this.#stopWatch?.();
    this.#listeners.clear();
  }

  /** Calls `listener` on every change of position; returns an unsubscribe function. */
  onChange(listener: (change: SwitchChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves once the position satisfies `wanted` (at once if it does), or when `signal` aborts. */
  waitFor(wanted: (state: SwitchState) => boolean, signal: AbortSignal): Promise<void> {
    if (wanted(this.#state) || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        off();
        signal.removeEventListener("abort", done);
        resolve();
      };
      const off = this.onChange(({ to }) => {
        if (wanted(to)) done();
      });
      signal.addEventListener("abort", done, { once: true });
    });
  }

  /** Reads the switch now (a reading under way is followed by one more); resolves when that reading is applied. */
  refresh(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#reading) {
      this.#again = true;
      return this.#reading;
    }
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    this.#reading = this.#readLoop().finally(() => {
      this.#reading = undefined;
      if (!this.#stopped) this.#cancelTimer = this.#io.setTimer(() => void this.refresh(), this.#options.pollMs);
    });
    return this.#reading;
  }

  async #readLoop(): Promise<void> {
    do {
      this.#again = false;
      let reading: SwitchReading;
      try {
        reading = await this.#io.read();
      } catch (err) {
        reading = { problem: `reading the switch failed: ${String(err)}` };
      }
      if (this.#stopped) return;
      this.#apply(reading);
    } while (this.#again && !this.#stopped);
  }

  #apply(reading: SwitchReading): void {
    const problem = "problem" in reading ? reading.problem : undefined;
    if (problem !== this.#problem) {
      this.#problem = problem;
      this.#options.onProblem?.(problem);
    }
    const to = "state" in reading ? reading.state : this.#options.failState;
    const from = this.#state;
    if (to === from) return;
    this.#state = to;
    for (const listener of [...this.#listeners]) listener({ from, to });
  }
}
