/**
 * Child process of node-floor.ts: one hop of a minimal three-process Node.js path. It
 * listens on one port per target and joins each connection it accepts to a new connection
 * to the next hop, with Fernlink's own forwarding (`joinStreams`: per-turn cork, backpressure,
 * half-close) and buffers (64 KiB), but no multiplexing, no HTTP/2, no authorisation and no
 * audit: one TCP or TLS connection per stream on each hop, as a lane is.
 *
 *   node node-hop.js LISTEN_PORTS NEXT_PORTS IN OUT     (ports comma-separated, IN/OUT tcp|tls)
 *
 * The TLS key and certificate come by environment (FLOOR_TLS_KEY, FLOOR_TLS_CERT), not argv.
 * Prints "ready" once every port listens.
 */
import net from "node:net";
import tls from "node:tls";
import { joinStreams } from "../src/shared/join-streams.js";
import { STREAM_BUFFER_BYTES } from "../src/shared/stream-buffer.js";

const [listenArg, nextArg, inMode, outMode] = process.argv.slice(2);
const listen = (listenArg ?? "").split(",").map(Number);
const next = (nextArg ?? "").split(",").map(Number);
const modes = ["tcp", "tls"];
const isPort = (n: number): boolean => Number.isInteger(n) && n > 0 && n < 65_536;
const portsOk = listen.length === next.length && [...listen, ...next].every(isPort);
if (!portsOk || !modes.includes(inMode ?? "") || !modes.includes(outMode ?? "")) {
  process.stderr.write("usage: node-hop LISTEN_PORTS NEXT_PORTS tcp|tls tcp|tls\n");
  process.exit(2);
}
const key = process.env["FLOOR_TLS_KEY"];
const cert = process.env["FLOOR_TLS_CERT"];
if (inMode === "tls" && (!key || !cert)) {
  process.stderr.write("node-hop: a TLS listener needs FLOOR_TLS_KEY and FLOOR_TLS_CERT (PEM) in its environment\n");
  process.exit(2);
}
const buffers = { noDelay: true, allowHalfOpen: true, highWaterMark: STREAM_BUFFER_BYTES };

function dial(port: number): net.Socket {
  const at = { host: "127.0.0.1", port, ...buffers };
  // A throwaway self-signed certificate on loopback: nothing to verify against.
  return outMode === "tls" ? tls.connect({ ...at, rejectUnauthorized: false }) : net.connect(at);
}

let listening = 0;
listen.forEach((port, i) => {
  const onConnection = (socket: net.Socket): void => {
    socket.setNoDelay(true);
    joinStreams(socket, dial(next[i]!));
  };
  const server = inMode === "tls" ? tls.createServer({ key, cert, ...buffers }, onConnection) : net.createServer(buffers, onConnection);
  server.once("error", (err: Error) => {
    process.stderr.write(`node-hop: cannot listen on 127.0.0.1:${port}: ${err.message}\n`);
    process.exit(1);
  });
  server.listen(port, "127.0.0.1", () => {
    if (++listening === listen.length) process.stdout.write("ready\n");
  });
});
process.on("SIGTERM", () => process.exit(0));
