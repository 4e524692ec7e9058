import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";

/** The name the plant's inspection CA carries in these tests. */
export const INSPECTION_CA = { CN: "Plant Inspection CA", O: "ACME Plant IT" };

/** A TLS-inspecting middlebox on loopback: it terminates TLS with its own CA's certificate for 127.0.0.1 and re-encrypts to the server. */
export interface Interceptor {
  port: number;
  /** The inspection CA's certificate (PEM). */
  caPem: string;
  close(): Promise<void>;
}

/**
 * Starts a TLS interceptor in front of `127.0.0.1:upstreamPort`, as a plant's DPI firewall
 * does: a second CA (made with openssl) presents our host name, offers only http/1.1, and
 * passes the decrypted bytes on over its own TLS connection to the server.
 */
export async function startInterceptor(upstreamPort: number): Promise<Interceptor> {
  const dir = await mkdtemp(join(tmpdir(), "fernlink-dpi-"));
  const ssl = (...args: string[]): void => void execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  ssl("req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", `/CN=${INSPECTION_CA.CN}/O=${INSPECTION_CA.O}`);
  ssl("req", ...ec, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=127.0.0.1");
  await writeFile(join(dir, "san.cnf"), "subjectAltName=IP:127.0.0.1\n");
  ssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "leaf.pem", "-days", "2", "-extfile", "san.cnf");
  const [caPem, key, cert] = await Promise.all(["ca.pem", "leaf.key", "leaf.pem"].map((f) => readFile(join(dir, f), "utf8")));
  await rm(dir, { recursive: true, force: true });
  const sockets = new Set<tls.TLSSocket>();
  const server = tls.createServer({ key, cert: `${cert}${caPem}`, ALPNProtocols: ["http/1.1"] }, (client) => {
    const upstream = tls.connect({ host: "127.0.0.1", port: upstreamPort, rejectUnauthorized: false, ALPNProtocols: ["http/1.1"] });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
      s.once("close", () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  server.on("tlsClientError", () => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    caPem: caPem!,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
