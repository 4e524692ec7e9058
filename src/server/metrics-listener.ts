import http from "node:http";
import type { AddressInfo } from "node:net";
import type { HostPort } from "../protocol/target.js";
import type { Logger } from "../shared/log.js";
import type { Metrics } from "../shared/metrics.js";
import { answerHealth } from "./health.js";

/** The Prometheus scrape endpoint, on its own address (`--metrics-listen`): never on the public port. */
export interface MetricsListener {
  readonly address: HostPort;
  close(): Promise<void>;
}

/** What the listener serves besides the metrics. */
export interface MetricsListenerParts {
  metrics: Metrics;
  log: Logger;
  /**
   * The ready check behind /readyz (with /healthz beside it): a relay's TLS port asks every
   * peer for a certificate, so a load balancer's probe finds them here instead.
   */
  ready?: (() => Promise<boolean>) | undefined;
}

/** Serves `GET /metrics` in Prometheus' text format on `listen` (and the probes, given `ready`); everything else is 404. */
export async function startMetricsListener(listen: HostPort, parts: MetricsListenerParts): Promise<MetricsListener> {
  const { metrics, log, ready } = parts;
  const server = http.createServer((req, res) => {
    if (ready && answerHealth(req, res, ready)) return;
    if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end(`only GET /metrics${ready ? ", /healthz and /readyz" : ""} here\n`);
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": metrics.registry.contentType, "cache-control": "no-store" }).end(text),
      (err: unknown) => {
        log.warn("metrics collection failed", { error: err instanceof Error ? err.message : String(err) });
        res.writeHead(500).end();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  return {
    address: { host: addr.address, port: addr.port },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
