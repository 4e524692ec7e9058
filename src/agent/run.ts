import { setTimeout as sleep } from "node:timers/promises";
import { ROUTES, RelayAssignment } from "../protocol/api.js";
import { errorMessage, FernlinkError } from "../shared/errors.js";
import { requestJson } from "../shared/https-json.js";
import type { KeepaliveOptions } from "../shared/keepalive.js";
import type { Logger } from "../shared/log.js";
import { Allowlist, parseAllowRule, type AllowRule } from "./allowlist.js";
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from "./backoff.js";
import type { AgentState } from "./state.js";
import { createStreamServer } from "./stream-server.js";
import { tunnelEnded } from "./tunnel-end.js";
import { openTunnel } from "./tunnel-connection.js";

/** How `fernlink agent run` behaves. */
export interface RunAgentOptions {
  state: AgentState;
  /** `--allow` rules; when empty, the device's LAN ranges as the service reports them. */
  allow: AllowRule[];
  log: Logger;
  signal: AbortSignal;
  backoff?: BackoffOptions;
  keepalive?: KeepaliveOptions;
  /** Called each time a tunnel is up (the CLI prints a line, tests wait for it). */
  onConnected?: (relay: string) => void;
}

/** A tunnel that lived this long resets the backoff: the outage is over. */
const STABLE_MS = 30_000;

function lanAllowlist(lan: string[]): Allowlist {
  return new Allowlist(lan.map(parseAllowRule));
}

/**
 * Keeps the device's tunnel up until `signal` aborts: ask the service which relay to use
 * (the answer may change on every connection), connect, serve streams, and after any loss,
 * whatever the relay sent, log why and reconnect with exponential backoff and jitter. The one
 * way out besides `signal`: the access service says the device's certificate is revoked
 * (FernlinkError "certificate-revoked").
 */
export async function runAgent(options: RunAgentOptions): Promise<void> {
  // Holds the event loop open for the whole run: the loop must never end because, between
  // two awaits, nothing else happened to be pending.
  const alive = setInterval(() => {}, 1 << 30);
  try {
    await keepTunnelUp(options);
  } finally {
    clearInterval(alive);
  }
}

async function keepTunnelUp(options: RunAgentOptions): Promise<void> {
  const { state, log, signal } = options;
  const explicit = options.allow.length > 0 ? new Allowlist(options.allow) : undefined;
  let allowlist = explicit ?? lanAllowlist(state.config.lan);
  const streamServer = createStreamServer({ allowlist: () => allowlist, deviceName: state.config.device, log });
  const tls = { keyPem: state.keyPem, certPem: state.certPem, caPem: state.caPem };
  let attempt = 0;
  while (!signal.aborted) {
    const startedAt = Date.now();
    try {
      const assignment = await requestJson({
        server: state.config.server,
        path: ROUTES.relay,
        ca: state.caPem,
        cert: state.certPem,
        key: state.keyPem,
        response: RelayAssignment,
      });
      if (!explicit) allowlist = lanAllowlist(assignment.lan);
      const { host, port } = assignment.relay;
      const session = await openTunnel({ host, port, ...tls, streamServer, signal, ...(options.keepalive ? { keepalive: options.keepalive } : {}) });
      log.info("tunnel up", { relay: `${host}:${port}`, device: state.config.device, allow: allowlist.describe() });
      options.onConnected?.(`${host}:${port}`);
      const onAbort = (): void => session.close();
      signal.addEventListener("abort", onAbort, { once: true });
      const reason = await tunnelEnded(session);
      signal.removeEventListener("abort", onAbort);
      if (signal.aborted) break;
      log.warn("tunnel lost", { relay: `${host}:${port}`, reason });
    } catch (err) {
      if (signal.aborted) break;
      if (err instanceof FernlinkError && err.code === "certificate-revoked") {
        streamServer.close();
        throw new FernlinkError(
          "certificate-revoked",
          `the service no longer accepts this device's certificate (${err.message}); register the device again with a new key from: fernlink device key ${state.config.device}`,
        );
      }
      log.warn("cannot connect", { reason: errorMessage(err) });
    }
    attempt = Date.now() - startedAt > STABLE_MS ? 0 : attempt + 1;
    const delay = backoffDelay(attempt, options.backoff ?? DEFAULT_BACKOFF);
    log.info("reconnecting", { inMs: delay });
    await sleep(delay, undefined, { signal }).catch(() => undefined);
  }
  streamServer.close();
}
