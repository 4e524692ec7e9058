import type { Duplex } from "node:stream";
import tls from "node:tls";
import WebSocket, { createWebSocketStream } from "ws";
import { FernlinkError } from "../protocol/errors.js";
import { TRANSPORT_PATH, TRANSPORT_PROTOCOL } from "../protocol/transport.js";
import { authorityOf } from "./proxy-tunnel.js";

/**
 * Opens the WebSocket transport's byte stream to the server: `wss://HOST:PORT/api/v1/transport`
 * over `outer` (a TLS connection that speaks HTTP/1.1, to the server or to a reverse proxy in
 * front of it). The caller runs the real TLS session inside it.
 */
export function openTransportStream(
  outer: tls.TLSSocket,
  options: { host: string; port: number; label?: string | undefined },
  signal: AbortSignal,
): Promise<Duplex> {
  const url = `wss://${authorityOf(options.host, options.port)}${TRANSPORT_PATH}`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, TRANSPORT_PROTOCOL, { createConnection: () => outer, perMessageDeflate: false });
    const fail = (err: Error): void => {
      signal.removeEventListener("abort", onAbort);
      ws.terminate();
      outer.destroy();
      reject(err);
    };
    const onAbort = (): void => fail(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" }));
    signal.addEventListener("abort", onAbort, { once: true });
    ws.once("error", fail);
    ws.once("unexpected-response", (_req, res) =>
      fail(
        new FernlinkError(
          "server-unreachable",
          `${options.label ?? url} answered ${res.statusCode} to the WebSocket transport; is it a Fernlink server, and does the proxy in front pass WebSocket upgrades?`,
        ),
      ),
    );
    ws.once("open", () => {
      signal.removeEventListener("abort", onAbort);
      ws.removeListener("error", fail);
      const stream = createWebSocketStream(ws);
      stream.on("error", () => stream.destroy());
      resolve(stream);
    });
  });
}

/** Whom the outer TLS connection trusts: a reverse proxy in front of the server usually shows a public certificate, or ours. */
export function outerTrust(ca: string | undefined): string[] | undefined {
  return ca === undefined ? undefined : [ca, ...tls.rootCertificates];
}
