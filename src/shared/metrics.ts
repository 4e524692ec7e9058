import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { StreamAuthority, StreamEvent, StreamRequest } from "../protocol/relay-access.js";

/** What a relay shows of itself when scraped: counted at scrape time, so nothing is counted twice. */
export interface RelayReading {
  /** The relay's name (`fernlink relay list`) and region, for `fernlink_relay_info`; none on an access node without a relay. */
  name?: string | undefined;
  region?: string | undefined;
  /** Agents whose tunnels are up here. */
  agents(): number;
  load(): { streams: number; bytesUp: number; bytesDown: number };
}

/**
 * The Prometheus metrics of one process (server, access node or relay). Labels stay low in
 * cardinality: a result and an error code, an audit action — never a user, device or address.
 */
export interface Metrics {
  readonly registry: Registry;
  /** Adds the gauges and counters that read a relay at scrape time. */
  watchRelay(relay: RelayReading): void;
  /** Wraps an authority so that streams opened, refused and their setup time are counted. */
  instrumentAuthority(authority: StreamAuthority): StreamAuthority;
  /** Counts one audited event (logins are the events of action "login"). */
  auditEvent(action: string, result: string): void;
  /** Counts an audit record the store did not take. */
  auditWriteFailed(): void;
  /** Times one store statement, by kind (select, insert, update, delete, other). */
  storeQuery(kind: string, seconds: number, failed: boolean): void;
}

/** Seconds from a stream's request to its agent's answer: from a LAN round trip to a slow cellular one. */
const SETUP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15];

/** Seconds a store statement takes: from an SQLite page in memory to a PostgreSQL server under load. */
const QUERY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** Builds the metrics of this process, with Node's own (CPU, memory, event-loop lag, GC) under `process_`/`nodejs_`. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const streamsOpened = new Counter({
    name: "fernlink_streams_opened_total",
    help: "Streams asked for, by result (ok or refused) and, for refusals, the error code",
    labelNames: ["result", "code"] as const,
    registers,
  });
  const setup = new Histogram({
    name: "fernlink_stream_setup_seconds",
    help: "Time from a stream's request to the agent's answer, for streams that opened",
    buckets: SETUP_BUCKETS,
    registers,
  });
  const audits = new Counter({
    name: "fernlink_audit_events_total",
    help: "Audited events (a record each, or counted into one record for a flood of refusals), by action and result; action login: the login results",
    labelNames: ["action", "result"] as const,
    registers,
  });
  const auditFailures = new Counter({
    name: "fernlink_audit_write_failures_total",
    help: "Audit records the store did not take (each is also logged)",
    registers,
  });
  const queries = new Histogram({
    name: "fernlink_store_query_seconds",
    help: "Time of each store statement, by kind: select, insert, update, delete or other",
    labelNames: ["statement"] as const,
    buckets: QUERY_BUCKETS,
    registers,
  });
  const queryErrors = new Counter({
    name: "fernlink_store_query_errors_total",
    help: "Store statements that failed, by kind",
    labelNames: ["statement"] as const,
    registers,
  });
  const started = new WeakMap<StreamRequest, number>();

  return {
    registry,
    watchRelay(relay) {
      // One series per process, so dashboards can name a scrape target's relay and region.
      if (relay.name !== undefined)
        new Gauge({
          name: "fernlink_relay_info",
          help: "The relay this process runs: its name and region (value 1)",
          labelNames: ["relay", "region"] as const,
          registers,
        }).set({ relay: relay.name, region: relay.region ?? "" }, 1);
      new Gauge({ name: "fernlink_agents_connected", help: "Agents whose tunnel is up on this relay", registers, collect: ready(relay.agents) });
      new Gauge({ name: "fernlink_streams_open", help: "Streams carried by this relay now", registers, collect: ready(() => relay.load().streams) });
      carried("fernlink_bytes_to_devices_total", "Bytes carried towards the devices since start", () => relay.load().bytesUp);
      carried("fernlink_bytes_from_devices_total", "Bytes carried back from the devices since start", () => relay.load().bytesDown);
    },
    instrumentAuthority(authority) {
      return {
        authenticate: (request) => {
          started.set(request, performance.now());
          return authority.authenticate(request);
        },
        authorize: (requester, request) => authority.authorize(requester, request),
        record: (event: StreamEvent) => {
          if (event.kind === "opened") {
            streamsOpened.inc({ result: "ok", code: "" });
            const at = started.get(event.request);
            if (at !== undefined) setup.observe((performance.now() - at) / 1000);
          } else if (event.kind === "refused") {
            streamsOpened.inc({ result: "refused", code: event.error.code });
          }
          authority.record(event);
        },
      };
    },
    auditEvent(action, result) {
      audits.inc({ action, result });
    },
    auditWriteFailed() {
      auditFailures.inc();
    },
    storeQuery(kind, seconds, failed) {
      queries.observe({ statement: kind }, seconds);
      if (failed) queryErrors.inc({ statement: kind });
    },
  };

  /** A counter read from a running total at scrape time. */
  function carried(name: string, help: string, total: () => number): void {
    let seen = 0;
    new Counter({
      name,
      help,
      registers,
      collect() {
        const now = total();
        // A total only grows; should its source restart, count on from there instead of going back.
        this.inc(Math.max(0, now - seen));
        seen = Math.max(seen, now);
      },
    });
  }
}

/** A gauge's collect function that sets it from a reading. */
function ready(read: () => number): (this: Gauge) => void {
  return function (this: Gauge) {
    this.set(read());
  };
}
