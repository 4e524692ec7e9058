import { createSocket } from "node:dgram";
import { once } from "node:events";
import { type AddressInfo, createServer } from "node:net";

/**
 * Ports on 127.0.0.1 for what takes a fixed port, not 0 (the end-to-end tests' nginx, squid,
 * Xvnc, dnsmasq and README commands; the published ports of a job): bound, read and released,
 * so free a moment ago. Another test can take one in between; a daemon that can lose that race
 * is retried by its helper (see test/e2e/helpers/dnsmasq.ts).
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The same for UDP. */
export async function freeUdpPort(): Promise<number> {
  const socket = createSocket("udp4");
  socket.bind(0, "127.0.0.1");
  await once(socket, "listening");
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}
