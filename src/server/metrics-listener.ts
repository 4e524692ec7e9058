import http from "node:http";
import type { AddressInfo } from "node:net";
import type { HostPort } from "../protocol/target.js";
import type { Logger } from "../shared/log.js";
import type { Metrics } from "../shared/metrics.js";

/** The Prometheus scrape endpoint, on its own address (`--metrics-listen`): never on the public port. */
export interface MetricsListener {
  readonly address: HostPort;
  close(): Promise<void>;
}

/** Serves `GET /metrics` in Prometheus' text format on `listen`; everything else is 404. */
export async function startMetricsListener(listen: HostPort, metrics: Metrics, log: Logger): Promise<MetricsListener> {
  const server = http.createServer((req, res) => {
    if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("only GET /metrics here\n");
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
