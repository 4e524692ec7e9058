import type { DeviceAccess } from "./access-decision.js";
import type { ActiveApiToken } from "./store/api-tokens.js";
import type { Device } from "./store/schema.js";
import type { ActiveSession } from "./store/sessions.js";

/**
 * What the stream path keeps in memory so that a stream's access decision needs no database
 * round trip: the credentials it has seen (by token hash), devices by name, and users' access
 * to devices. Every entry belongs to one account; a change in an account drops all of that
 * account's entries (see access-changes.ts), so the next stream reads the store afresh.
 * Only a device's `last_seen`, which no change notice covers, may lag by up to `ttlMs`; the
 * store itself refreshes it once a minute, and a grant shows it only in "device offline".
 */

/** A session or API token as the store returned it, with the rows that decide it. */
export type Credential = { kind: "session"; found: ActiveSession } | { kind: "token"; found: ActiveApiToken };

/** Options of a StreamCache. */
export interface StreamCacheOptions {
  /** Milliseconds since the epoch: the access context's clock. */
  now: () => number;
  /** Entries kept at most, per kind; the least recently used go first. */
  maxEntries?: number;
  /** How long an entry is trusted at most, even without a change notice. */
  ttlMs?: number;
}

/** The defaults: a minute, as long as a session's last use may lag (TOUCH_INTERVAL_MS). */
export const STREAM_CACHE_DEFAULTS = { maxEntries: 10_000, ttlMs: 60_000 } as const;

interface Entry<V> {
  accountId: string;
  value: V;
  storedAt: number;
}

/** How `through` files a loaded value, and when a kept one no longer serves. */
export interface MemoRules<V> {
  accountOf(value: V): string;
  /** False drops the entry and loads again (e.g. a session past its end). */
  usable?(value: V): boolean;
}

/** One bounded, least-recently-used memo of values that each belong to an account. */
export class AccountMemo<V> {
  readonly #entries = new Map<string, Entry<V>>();
  readonly #options: Required<StreamCacheOptions>;
  /** Moves on every drop: a load that started before one is returned but never kept. */
  #epoch = 0;
  #suspended = false;

  constructor(options: Required<StreamCacheOptions>) {
    this.#options = options;
  }

  /** Entries kept now. */
  get size(): number {
    return this.#entries.size;
  }

  /** The kept value under `key`, or what `load` returns (kept unless undefined). */
  async through<L extends V | undefined>(key: string, load: () => Promise<L>, rules: MemoRules<V>): Promise<L | V> {
    const entry = this.#entries.get(key);
    if (entry) {
      this.#entries.delete(key);
      const fresh = this.#options.now() - entry.storedAt < this.#options.ttlMs;
      if (fresh && (rules.usable?.(entry.value) ?? true)) {
        this.#entries.set(key, entry);
        return entry.value;
      }
    }
    const epoch = this.#epoch;
    const startedAt = this.#options.now();
    const value = await load();
    if (value !== undefined && epoch === this.#epoch && !this.#suspended) this.#keep(key, { accountId: rules.accountOf(value), value, storedAt: startedAt });
    return value;
  }

  /** Drops every entry of the account. */
  forgetAccount(accountId: string): void {
    this.#epoch++;
    for (const [key, entry] of this.#entries) if (entry.accountId === accountId) this.#entries.delete(key);
  }

  /** Drops every entry; while `suspended`, nothing is kept. */
  forgetAll(suspended: boolean): void {
    this.#epoch++;
    this.#suspended = suspended;
    this.#entries.clear();
  }

  #keep(key: string, entry: Entry<V>): void {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    // A Map iterates in insertion order, and a hit re-inserts: the first key is the least recently used.
    while (this.#entries.size > this.#options.maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
  }
}

/** The stream path's memos: credentials by token hash, devices by name, access by user, role and device. */
export class StreamCache {
  readonly credentials: AccountMemo<Credential>;
  readonly devices: AccountMemo<Device>;
  readonly access: AccountMemo<DeviceAccess>;

  constructor(options: StreamCacheOptions) {
    const full = { maxEntries: STREAM_CACHE_DEFAULTS.maxEntries, ttlMs: STREAM_CACHE_DEFAULTS.ttlMs, ...options };
    this.credentials = new AccountMemo(full);
    this.devices = new AccountMemo(full);
    this.access = new AccountMemo(full);
  }

  /** Drops everything of one account: after any change that can alter its decisions. */
  forgetAccount(accountId: string): void {
    for (const memo of this.#memos()) memo.forgetAccount(accountId);
  }

  /** Drops everything and keeps nothing until `resume`: while change notices may be missed. */
  suspend(): void {
    for (const memo of this.#memos()) memo.forgetAll(true);
  }

  /** Drops everything (what was kept may have missed notices) and keeps entries again. */
  resume(): void {
    for (const memo of this.#memos()) memo.forgetAll(false);
  }

  #memos(): Pick<AccountMemo<unknown>, "forgetAccount" | "forgetAll">[] {
    return [this.credentials, this.devices, this.access];
  }
}
