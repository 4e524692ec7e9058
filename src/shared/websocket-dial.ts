import { readFileSync } from "node:fs";
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
          `${options.label ?? url} answered ${res.statusCode} to the WebSocket transport; is it a Fernlink server, ` +
            `and does the proxy in front pass WebSocket upgrades?`,
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

/**
 * Whom the outer TLS connection trusts: our CA and the system's (a reverse proxy in front of
 * the server shows a public certificate; a plant's inspecting proxy one from a CA its IT put
 * on the machines, NODE_EXTRA_CA_CERTS included). Undefined `ca`: the system's alone.
 */
export function outerTrust(ca: string | undefined): string[] | undefined {
  return ca === undefined ? undefined : [ca, ...tls.rootCertificates, ...extraCertificates()];
}

let extra: string[] | undefined;

/** The certificates of NODE_EXTRA_CA_CERTS, which Node adds to its default store but not to `tls.rootCertificates`. */
function extraCertificates(): string[] {
  if (extra) return extra;
  const file = process.env["NODE_EXTRA_CA_CERTS"];
  extra = [];
  if (file) {
    try {
      extra = readFileSync(file, "utf8").match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    } catch {
      // Node itself only warns about an unreadable file; so do we, by trusting nothing more.
    }
  }
  return extra;
}
