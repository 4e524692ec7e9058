/**
 * Child process of the HMI modes bench (hmi-modes.ts): two test HMI apps and, once the tunnel
 * forwards exist, the path-prefix prototype. Its own process, so neither shares an event loop
 * with the orchestrator that drives the browser (the portal's proxy runs in the server's).
 *
 * IPC: on start it sends `{ ok, apps }`; to `{ proxy }` it answers `{ ok, proxy }`.
 */
import { issueServerCertificate, loadOrCreateCa } from "../src/access/ca.js";
import { type HmiApp, startHmiApp } from "../test/e2e/helpers/hmi-app.js";
import { HMI_TICK_MS } from "./hmi-checks.js";
import { type PathPrefixProxy, type PrefixHmi, startPathPrefixProxy } from "./path-prefix-proxy.js";

/** The orchestrator's request to start the prototype. */
export interface ProxyRequest {
  proxy: { hmis: PrefixHmi[]; portal: { host: string; port: number }; caDir: string; publicHost: string };
}

/** What this process answers. */
export type HmiServersAnswer =
  | { ok: true; apps: { a: { port: number; url: string }; b: { port: number; url: string } } }
  | { ok: true; proxy: { port: number; origin: string } }
  | { ok: false; error: string };

const send = (m: HmiServersAnswer): void => void process.send!(m);

async function main(): Promise<void> {
  const apps: HmiApp[] = [await startHmiApp({ tickMs: HMI_TICK_MS }), await startHmiApp({ tickMs: HMI_TICK_MS })];
  let proxy: PathPrefixProxy | undefined;
  process.on("message", (m: ProxyRequest) => {
    void (async () => {
      const now = new Date();
      const ca = await loadOrCreateCa(m.proxy.caDir, { now });
      const cert = await issueServerCertificate(ca, { hostnames: [m.proxy.publicHost], now });
      proxy = await startPathPrefixProxy({
        hmis: m.proxy.hmis,
        portal: m.proxy.portal,
        publicHost: m.proxy.publicHost,
        tls: { key: cert.keyPem, cert: cert.certPem },
      });
      send({ ok: true, proxy: { port: proxy.port, origin: proxy.origin } });
    })().catch((err: unknown) => send({ ok: false, error: String(err) }));
  });
  const stop = (): void => void Promise.all([...apps.map((a) => a.close()), proxy?.close()]).finally(() => process.exit(0));
  process.once("SIGTERM", stop).once("disconnect", stop);
  send({ ok: true, apps: { a: { port: apps[0]!.port, url: apps[0]!.url }, b: { port: apps[1]!.port, url: apps[1]!.url } } });
}

main().catch((err: unknown) => send({ ok: false, error: String(err) }));
