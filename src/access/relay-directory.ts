import type { Kysely } from "kysely";
import { listRelays, type RelayRow } from "./store/relays.js";
import type { Database } from "./store/schema.js";

/** A relay as the access nodes see it, from the `relays` table. */
export interface RelayEntry {
  id: string;
  name: string;
  kind: "relay" | "node";
  region: string | null;
  url: string | null;
  online: boolean;
  draining: boolean;
  devices: number;
  streams: number;
  bytesUp: number;
  bytesDown: number;
}

/** A relay's heartbeat older than this reads as offline. */
export const RELAY_STALE_MS = 15_000;

/** Reads a row as an entry at `now`. */
export function relayEntry(row: RelayRow, now: Date, staleMs = RELAY_STALE_MS): RelayEntry {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    region: row.region,
    url: row.url,
    online: row.heartbeat_at !== null && now.getTime() - Date.parse(row.heartbeat_at) <= staleMs,
    draining: row.draining_at !== null,
    devices: Number(row.devices),
    streams: Number(row.streams),
    bytesUp: Number(row.bytes_up),
    bytesDown: Number(row.bytes_down),
  };
}

/**
 * Orders the relays an agent may use: online, not draining, with a URL; those in the agent's
 * region first, then the least loaded (devices, then streams), then by name. `pending` counts
 * agents sent to a relay lately (PENDING_MS), so a burst of agents is spread rather than sent to
 * the one relay that looked emptiest.
 */
export function rankRelays(entries: readonly RelayEntry[], options: { region?: string | undefined; pending?: ReadonlyMap<string, number> } = {}): RelayEntry[] {
  const load = (e: RelayEntry): number => e.devices + (options.pending?.get(e.id) ?? 0);
  const inRegion = (e: RelayEntry): number => (options.region !== undefined && e.region !== options.region ? 1 : 0);
  return entries
    .filter((e) => e.online && !e.draining && e.url !== null)
    .sort((a, b) => inRegion(a) - inRegion(b) || load(a) - load(b) || a.streams - b.streams || a.name.localeCompare(b.name));
}

/**
 * How long an agent sent to a relay counts towards that relay's load here: long enough for the
 * agent to connect and for the relay's next report (every 1 to 2 s) to count it. Clearing these
 * on every read of the table instead lost the agents that had not connected yet when it was
 * read, and the next agent went to the same relay.
 */
export const PENDING_MS = 10_000;

/** The relays, read from the store every second by each node (the table is small). */
export class RelayDirectory {
  private entries: RelayEntry[] = [];
  private byId = new Map<string, RelayEntry>();
  /** Agents sent to each relay, by relay id: when each was sent. */
  private sent = new Map<string, number[]>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => Date,
  ) {}

  /** Reads the table again. */
  async refresh(): Promise<void> {
    const rows = await listRelays(this.db);
    this.entries = rows.map((r) => relayEntry(r, this.now()));
    this.byId = new Map(this.entries.map((e) => [e.id, e]));
  }

  list(): RelayEntry[] {
    return this.entries;
  }

  get(id: string): RelayEntry | undefined {
    return this.byId.get(id);
  }

  /** The ranked relays for an agent's next connection; the first is counted as taken. */
  assign(region: string | undefined): RelayEntry[] {
    const now = this.now().getTime();
    const pending = new Map<string, number>();
    for (const [id, times] of this.sent) {
      const recent = times.filter((at) => now - at < PENDING_MS);
      if (recent.length === 0) this.sent.delete(id);
      else {
        this.sent.set(id, recent);
        pending.set(id, recent.length);
      }
    }
    const ranked = rankRelays(this.entries, { region, pending });
    const first = ranked[0];
    if (first) this.sent.set(first.id, [...(this.sent.get(first.id) ?? []), now]);
    return ranked;
  }
}
