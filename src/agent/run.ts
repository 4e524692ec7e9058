import type { Http2Server, ServerHttp2Session } from "node:http2";
import { setTimeout as sleep } from "node:timers/promises";
import { RelayAssignment, ROUTES } from "../protocol/api.js";
import { errorMessage, FernlinkError } from "../protocol/errors.js";
import { LANES_MAX } from "../protocol/lane.js";
import { requestJson } from "../shared/https-json.js";
import type { KeepaliveOptions } from "../shared/keepalive.js";
import type { Logger } from "../shared/log.js";
import { Allowlist, type AllowRule, parseAllowRule } from "./allowlist.js";
import { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF } from "./backoff.js";
import type { KeySwitch } from "./key-switch.js";
import { dialLane } from "./lane-dialer.js";
import { networkCheckOnce } from "./network-check.js";
import type { AgentState } from "./state.js";
import { createStreamServer } from "./stream-server.js";
import { switchControl } from "./switch-control.js";
import { sendSwitchReport } from "./switch-report.js";
import { openTunnel, type TunnelOptions } from "./tunnel-connection.js";
import { tunnelEnded } from "./tunnel-end.js";

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
  /** The agent's region: relays there are preferred. */
  region?: string | undefined;
  /** The machine owner's key switch (started); without one, streams are as the rules allow. */
  keySwitch?: KeySwitch | undefined;
  /** Hears the stream server once it exists (on-demand mode counts the streams on it). */
  onStreamServer?: (server: Http2Server) => void;
}

/**
 * A tunnel that stayed up this long resets the backoff: the outage is over, and the next loss
 * (a relay killed, say) is retried at once, with jitter, not after the delays of the last
 * outage. Shorter-lived tunnels (a relay that accepts and drops) keep backing off.
 */
const STABLE_MS = 5_000;

/**
 * After a tunnel is lost, the relays of the service's last answer are tried this long before
 * the service is asked again. A fleet whose relay died or restarted then comes back with one
 * TLS handshake per device, not two (the question is a second connection to an access node,
 * which a whole fleet asking at once turns into a queue). Past it the agent asks again, which
 * is also how a device whose certificate was revoked meanwhile learns it.
 */
export const ASK_AFTER_LOSS_MS = 30_000;

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

type RelayEndpoint = RelayAssignment["relays"][number];

/** How long a moved agent keeps its old tunnel after the new one is up, so no node still routes to it. */
export const MOVE_HANDOVER_MS = 3_000;

async function keepTunnelUp(options: RunAgentOptions): Promise<void> {
  const { state, log, signal } = options;
  const explicit = options.allow.length > 0 ? new Allowlist(options.allow) : undefined;
  let allowlist = explicit ?? lanAllowlist(state.config.lan);
  // The relay of a session asked the agent to move (it is draining).
  const moves = new Map<ServerHttp2Session, () => void>();
  // The relay each tunnel goes to: a stream's lane goes to the relay that offered it.
  const laneRelays = new Map<ServerHttp2Session, RelayEndpoint>();
  let lanesHeld = 0;
  const control = switchControl(options.keySwitch, (position) => sendSwitchReport(state, position), log);
  const streamServer = createStreamServer({
    allowlist: () => allowlist,
    deviceName: state.config.device,
    log,
    onMove: (session) => moves.get(session)?.(),
    gate: control.gate,
    openLane: async (session, nonce) => {
      const relay = laneRelays.get(session);
      if (!relay) throw new Error("the tunnel is gone");
      if (lanesHeld >= LANES_MAX) throw new Error(`${LANES_MAX} lanes are open already`);
      lanesHeld++;
      try {
        const lane = await dialLane(relay, tls, nonce);
        lane.once("close", () => lanesHeld--);
        return lane;
      } catch (err) {
        lanesHeld--;
        throw err;
      }
    },
  });
  options.onStreamServer?.(streamServer);
  const tls = { keyPem: state.keyPem, certPem: state.certPem, caPem: state.caPem };
  const path = options.region ? `${ROUTES.relay}?region=${encodeURIComponent(options.region)}` : ROUTES.relay;
  // The service's last answer: when it cannot be asked, the agent fails over down this list.
  let relays: RelayEndpoint[] = [];
  let retiring: ServerHttp2Session | undefined;
  let attempt = 0;
  // When the last tunnel was lost; undefined at start, after a move and once a tunnel is up.
  let lostAt: number | undefined;
  const checkNetwork = networkCheckOnce(state.config.server, state.caPem, log);
  while (!signal.aborted) {
    if (control.isOff()) {
      // Off means nothing dialled: no question to the service, no tunnel, no backoff running down.
      retiring?.destroy();
      retiring = undefined;
      await control.waitWhileOff(signal);
      attempt = 0;
      continue;
    }
    const guard = control.guard(signal);
    let upAt: number | undefined;
    let lost: RelayEndpoint | undefined;
    try {
      // Set only after losing a relay of the list, so the list is never empty then.
      const ask = lostAt === undefined || Date.now() - lostAt >= ASK_AFTER_LOSS_MS;
      if (ask) {
        try {
          const assignment = await requestJson({
            server: state.config.server,
            path,
            ca: state.caPem,
            cert: state.certPem,
            key: state.keyPem,
            response: RelayAssignment,
          });
          if (!explicit) allowlist = lanAllowlist(assignment.lan);
          relays = assignment.relays;
        } catch (err) {
          if (relays.length === 0 || (err instanceof FernlinkError && err.code === "certificate-revoked")) throw err;
          log.warn("cannot ask the access service; trying the relays it named before", { reason: errorMessage(err) });
        }
      }
      const { session, relay } = await firstReachable(
        relays,
        { ...tls, streamServer, signal: guard.signal, ...(options.keepalive ? { keepalive: options.keepalive } : {}) },
        log,
      );
      const where = `${relay.host}:${relay.port}`;
      log.info("tunnel up", { relay: relay.name, address: where, device: state.config.device, allow: allowlist.describe() });
      options.onConnected?.(where);
      control.tunnelUp();
      upAt = Date.now();
      lostAt = undefined;
      if (retiring) {
        const old = retiring;
        retiring = undefined;
        setTimeout(() => old.close(), MOVE_HANDOVER_MS).unref();
      }
      const onAbort = (): void => session.close();
      signal.addEventListener("abort", onAbort, { once: true });
      const moved = new Promise<"moved">((resolve) => moves.set(session, () => resolve("moved")));
      laneRelays.set(session, relay);
      session.once("close", () => laneRelays.delete(session));
      const outcome = await Promise.race([tunnelEnded(session), moved, guard.off]);
      moves.delete(session);
      signal.removeEventListener("abort", onAbort);
      if (signal.aborted) break;
      if (outcome === "switched-off") {
        session.destroy();
        log.info("switched off on site: tunnel closed", { relay: relay.name, address: where });
        continue;
      }
      if (outcome === "moved") {
        // The old tunnel carries its streams until the new one is up (then MOVE_HANDOVER_MS more).
        log.info("relay is draining: moving to another", { relay: relay.name });
        retiring = session;
        relays = relays.filter((r) => r.id !== relay.id);
        attempt = 0;
        continue;
      }
      lost = relay;
      log.warn("tunnel lost", { relay: relay.name, address: where, reason: outcome });
    } catch (err) {
      if (signal.aborted) break;
      if (control.isOff()) continue;
      if (err instanceof FernlinkError && err.code === "certificate-revoked") {
        streamServer.close();
        control.stop();
        throw new FernlinkError(
          "certificate-revoked",
          `the service no longer accepts this device's certificate (${err.message}); register the device again with a new key from: ` +
            `fernlink device key ${state.config.device}`,
        );
      }
      log.warn("cannot connect", { reason: errorMessage(err) });
      // From the third failure in a row: a relay lost and another taken at once is no network problem.
      if (attempt >= 2) checkNetwork();
      // A relay that refused the device after TLS: ask the service at once, it can say why.
      if (err instanceof FernlinkError && err.code === "certificate-rejected") lostAt = undefined;
    } finally {
      guard.dispose();
    }
    // A relay that just failed is tried last next time, should the service still name it first.
    if (lost) {
      relays = [...relays.filter((r) => r.id !== lost.id), lost];
      lostAt = Date.now();
    }
    attempt = upAt !== undefined && Date.now() - upAt >= STABLE_MS ? 0 : attempt + 1;
    const delay = backoffDelay(attempt, options.backoff ?? DEFAULT_BACKOFF);
    log.info("reconnecting", { inMs: delay });
    // A turn to off ends the wait: the loop's top then waits for the switch instead.
    const waiting = control.guard(signal);
    await sleep(delay, undefined, { signal: waiting.signal }).catch(() => undefined);
    waiting.dispose();
  }
  retiring?.close();
  streamServer.close();
  control.stop();
}

/** Opens the tunnel to the first relay of the list that answers. */
async function firstReachable(
  relays: readonly RelayEndpoint[],
  options: Omit<TunnelOptions, "host" | "port">,
  log: Logger,
): Promise<{ session: ServerHttp2Session; relay: RelayEndpoint }> {
  let last: unknown = new FernlinkError("device-offline", "the service named no relay");
  let refusal: unknown;
  for (const relay of relays) {
    try {
      return { session: await openTunnel({ ...options, host: relay.host, port: relay.port }), relay };
    } catch (err) {
      if (options.signal?.aborted) throw err;
      last = err;
      if (err instanceof FernlinkError && err.code === "certificate-rejected") refusal = err;
      log.warn("cannot reach relay", { relay: relay.name, address: `${relay.host}:${relay.port}`, reason: errorMessage(err) });
    }
  }
  throw refusal ?? last;
}
