import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { StreamAuthority, StreamEvent, StreamRequest } from "../protocol/relay-access.js";

/** What a relay shows of itself when scraped: counted at scrape time, so nothing is counted twice. */
export interface RelayReading {
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
}

/** Seconds from a stream's request to its agent's answer: from a LAN round trip to a slow cellular one. */
const SETUP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15];

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
  const started = new WeakMap<StreamRequest, number>();

  return {
    registry,
    watchRelay(relay) {
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
