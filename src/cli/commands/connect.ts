import { Duplex } from "node:stream";
import type { Command } from "commander";
import { z } from "zod";
import { apiClient } from "../../client/api-client.js";
import { waitUntilOnline } from "../../client/device-wait.js";
import { DRAIN_MS, drainListeners } from "../../client/drain.js";
import { type Listener, startForward } from "../../client/forwarder.js";
import { checkDistinctPorts } from "../../client/local-ports.js";
import { keepWanted, waitForCheckIn, wake } from "../../client/on-demand-wait.js";
import { startSocks5Server } from "../../client/socks5-server.js";
import { checkTargets } from "../../client/target-check.js";
import { TunnelClient } from "../../client/tunnel-client.js";
import { startUdpForward } from "../../client/udp-forwarder.js";
import { DeviceInfo, DeviceReach, ROUTES, routePath } from "../../protocol/api.js";
import { USER_ROUTES } from "../../protocol/api-users.js";
import { FernlinkError, UsageError } from "../../protocol/errors.js";
import { formatHostPort, type HostPort, parseForward, parseHostPort, parseListen } from "../../protocol/target.js";
import { deviceOfflineError } from "../../shared/format.js";
import { joinStreams } from "../../shared/join-streams.js";
import { askOnTerminal, connectReason } from "../connect-reason-input.js";
import { ExitStatus } from "../output.js";
import { collect, waitForSignal } from "../util.js";

interface ConnectFlags {
  forward: string[];
  forwardUdp: string[];
  udpIdle: string;
  socks?: string;
  stdio?: string;
  wait?: boolean;
  reason?: string;
  lanes: boolean;
}

/** Only what connect needs of the account policy; the rest is ignored. */
const ReasonPolicy = z.object({ requireReason: z.boolean().default(false) });

/** Ctrl-C ends `connect` with the shell's status for SIGINT; a service stop (SIGTERM) is a normal end. */
function exitFor(signal: NodeJS.Signals): ExitStatus | undefined {
  return signal === "SIGINT" ? new ExitStatus(130) : undefined;
}

function reportStreamError(device: string) {
  return (err: unknown, target: HostPort): void => {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`fernlink: ${formatHostPort(target)} via ${device}: ${message}\n`);
  };
}

/** `--udp-idle` in seconds: a whole number from 1 to one day. */
function parseIdleSeconds(text: string): number {
  const seconds = Number(text);
  if (!/^\d+$/.test(text) || seconds < 1 || seconds > 86_400)
    throw new UsageError(`--udp-idle "${text}" is not a number of seconds from 1 to 86400, e.g. --udp-idle 60`);
  return seconds;
}

/** Binds every listener before any is announced; one that cannot listen closes the others. */
async function bindAll(binds: (() => Promise<Listener>)[]): Promise<Listener[]> {
  const listeners: Listener[] = [];
  try {
    for (const bind of binds) listeners.push(await bind());
  } catch (err) {
    await Promise.all(listeners.map((l) => l.close()));
    throw err;
  }
  return listeners;
}

/** `fernlink connect`: local forwards and a SOCKS5 proxy into the device LAN. */
export function registerConnectCommand(program: Command): void {
  program
    .command("connect <device>")
    .description("reach targets in a device's LAN through local ports")
    .option("--forward <[lhost:]lport:thost:tport>", "local port forward (repeatable)", collect, [])
    .option("--forward-udp <[lhost:]lport:thost:tport>", "local UDP port forward; each local source gets its own mapping (repeatable)", collect, [])
    .option("--socks <[lhost:]port>", "SOCKS5 proxy (CONNECT and UDP ASSOCIATE); host names are resolved on the device side")
    .option("--udp-idle <seconds>", "end a UDP mapping after this long without a datagram either way", "60")
    .option("--stdio <thost:tport>", "join stdin/stdout to one target (e.g. ssh ProxyCommand), then exit")
    .option("--wait", "if the device is offline, wait until it comes online")
    .option(
      "--no-lanes",
      "keep every TCP connection on the one connection to the server; otherwise one that has carried 1 MiB moves to a TLS connection of its own (for a firewall that limits connections)",
    )
    .option(
      "--reason <text>",
      "why you connect (a ticket number, a sentence; up to 200 characters), kept in the audit; default FERNLINK_REASON, asked on a terminal when the account requires one",
    )
    .action(async (device: string, flags: ConnectFlags) => {
      const forwards = flags.forward.map((f) => ({ ...parseForward(f), flag: `--forward ${f}` }));
      const udpForwards = flags.forwardUdp.map((f) => ({ ...parseForward(f), flag: `--forward-udp ${f}` }));
      const udpIdleMs = parseIdleSeconds(flags.udpIdle) * 1000;
      const socks = flags.socks ? parseListen(flags.socks) : undefined;
      const stdio = flags.stdio ? parseHostPort(flags.stdio) : undefined;
      if (stdio && (forwards.length > 0 || udpForwards.length > 0 || socks))
        throw new UsageError("--stdio cannot be combined with --forward, --forward-udp or --socks");
      if (!stdio && forwards.length === 0 && udpForwards.length === 0 && !socks) {
        throw new UsageError("say what to open: --forward LPORT:THOST:TPORT, --forward-udp LPORT:THOST:TPORT, --socks PORT or --stdio THOST:TPORT");
      }
      checkDistinctPorts([...forwards, ...(socks ? [{ listen: socks, flag: `--socks ${flags.socks}` }] : [])]);
      // UDP ports are their own namespace: a TCP and a UDP forward may share a number.
      checkDistinctPorts(udpForwards);

      const signals = waitForSignal();
      const api = await apiClient();
      let info = await api.call("GET", routePath(ROUTES.device, { name: device }), DeviceInfo);
      const { requireReason } = await api.call("GET", USER_ROUTES.policy, ReasonPolicy);
      // With --stdio, stdin is the stream's data: nothing may be asked on it.
      const reason = await connectReason(flags.reason, requireReason, {
        env: process.env["FERNLINK_REASON"],
        ask: process.stdin.isTTY && !stdio ? askOnTerminal : undefined,
      });
      // A forward would otherwise listen and fail only when an application connects; --stdio opens its stream at once.
      if (forwards.length + udpForwards.length > 0)
        checkTargets(
          await api.call("GET", routePath(ROUTES.deviceAccess, { name: info.name }), DeviceReach),
          [...forwards, ...udpForwards].map((f) => f.target),
        );
      if (!info.online) {
        const giveUp = new AbortController();
        void signals.then(() => giveUp.abort());
        const stopped = async (err: unknown): Promise<never> => {
          if (!giveUp.signal.aborted) throw err;
          throw exitFor(await signals) ?? new ExitStatus(0);
        };
        // An on-demand device connects at its next check-in once asked for: wait for it with a countdown.
        // Asking needs connect rights; a viewer gets the offline line as before (its streams would be refused anyway).
        const woken = await wake(api, info.name).catch((err: unknown) => {
          if (err instanceof FernlinkError && err.code === "forbidden") return undefined;
          throw err;
        });
        if (woken && (woken.onDemand || woken.online)) {
          const out = { write: (text: string) => void process.stderr.write(text), isTTY: process.stderr.isTTY === true };
          await waitForCheckIn(api, woken, { signal: giveUp.signal, out, keepWaiting: flags.wait === true }).catch(stopped);
        } else {
          const offline = deviceOfflineError(info.name, info.lastSeen, info.switch === "off");
          if (!flags.wait) throw offline;
          process.stderr.write(`${offline.message}; waiting for it to come online (Ctrl-C to stop)\n`);
          info = await waitUntilOnline(api, info.name, giveUp.signal).catch(stopped);
        }
      }
      const stopWanting = keepWanted(api, info.name, () => {});
      const server = api.session.server;
      const recordedTold = new Set<string>();
      const tunnel = new TunnelClient({
        server,
        ca: api.ca,
        token: api.session.token,
        device: info.name,
        lanes: flags.lanes,
        ...(reason !== undefined ? { reason } : {}),
        onRecorded: (target) => {
          const label = formatHostPort(target);
          if (recordedTold.has(label)) return;
          recordedTold.add(label);
          process.stderr.write(`recorded: streams to ${label} via ${info.name} are recorded; the account's admins can read their bytes\n`);
        },
        onStatus: (status) =>
          process.stderr.write(
            status.state === "down" ? `fernlink: server ${server} unreachable (${status.reason}), retrying\n` : `connection to ${server} restored\n`,
          ),
      });
      const open = (target: HostPort): Promise<Duplex> => tunnel.open(target);
      const openUdp = (target: HostPort): Promise<Duplex> => tunnel.open(target, "udp");

      if (stdio) {
        const stream = await tunnel.open(stdio);
        const local = Duplex.from({ readable: process.stdin, writable: process.stdout });
        await new Promise<void>((resolve, reject) =>
          joinStreams(local, stream, ({ error }) => (error ? reject(tunnel.streamFailure(stream, error)) : resolve())),
        );
        stopWanting();
        tunnel.close();
        return;
      }

      const onError = reportStreamError(info.name);
      tunnel.start();
      const listeners = await bindAll([
        ...forwards.map((f) => () => startForward(f.listen, f.target, open, onError)),
        ...(socks
          ? [
              () =>
                startSocks5Server({
                  host: socks.host,
                  port: socks.port,
                  open: (t) => open(t),
                  openUdp,
                  udpIdleMs,
                  onError: (err, t) => (t ? onError(err, t) : undefined),
                }),
            ]
          : []),
        ...udpForwards.map((f) => () => startUdpForward(f.listen, f.target, openUdp, onError, udpIdleMs)),
      ]).catch((err: unknown) => {
        tunnel.close();
        throw err;
      });
      for (const [i, f] of forwards.entries())
        process.stdout.write(`forwarding ${formatHostPort(listeners[i]!.address)} -> ${formatHostPort(f.target)} via ${info.name}\n`);
      if (socks) process.stdout.write(`socks5 on ${formatHostPort(listeners[forwards.length]!.address)} via ${info.name}\n`);
      const firstUdp = forwards.length + (socks ? 1 : 0);
      for (const [i, f] of udpForwards.entries())
        process.stdout.write(`forwarding udp ${formatHostPort(listeners[firstUdp + i]!.address)} -> ${formatHostPort(f.target)} via ${info.name}\n`);

      const signal = await signals;
      const graceMs = signal === "SIGINT" ? DRAIN_MS : 0;
      const cut = await drainListeners(listeners, {
        graceMs,
        cut: waitForSignal(),
        onWait: (n) => process.stderr.write(`letting ${n} open connection(s) finish, up to ${graceMs / 1000} s (Ctrl-C again to cut them)\n`),
      });
      stopWanting();
      tunnel.close();
      if (cut > 0) process.stderr.write(`fernlink: cut ${cut} open connection(s) to ${info.name}\n`);
      const status = exitFor(signal);
      if (status) throw status;
    });
}
