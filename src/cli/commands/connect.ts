import { Duplex } from "node:stream";
import type { Command } from "commander";
import { DeviceInfo, ROUTES, routePath } from "../../protocol/api.js";
import { formatHostPort, parseForward, parseHostPort, parseListen, type HostPort } from "../../protocol/target.js";
import { UsageError } from "../../protocol/errors.js";
import { deviceOfflineError } from "../../shared/format.js";
import { joinStreams } from "../../shared/join-streams.js";
import { apiClient } from "../../client/api-client.js";
import { startForward, type Listener } from "../../client/forwarder.js";
import { startSocks5Server } from "../../client/socks5-server.js";
import { TunnelClient } from "../../client/tunnel-client.js";
import { collect, waitForSignal } from "../util.js";

interface ConnectFlags {
  forward: string[];
  socks?: string;
  stdio?: string;
}

function reportStreamError(device: string) {
  return (err: unknown, target: HostPort): void => {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`fernlink: ${formatHostPort(target)} via ${device}: ${message}\n`);
  };
}

/** `fernlink connect`: local forwards and a SOCKS5 proxy into the device LAN. */
export function registerConnectCommand(program: Command): void {
  program
    .command("connect <device>")
    .description("reach targets in a device's LAN through local ports")
    .option("--forward <[lhost:]lport:thost:tport>", "local port forward (repeatable)", collect, [])
    .option("--socks <[lhost:]port>", "SOCKS5 proxy; host names are resolved on the device side")
    .option("--stdio <thost:tport>", "join stdin/stdout to one target (e.g. ssh ProxyCommand), then exit")
    .action(async (device: string, flags: ConnectFlags) => {
      const forwards = flags.forward.map((f) => parseForward(f));
      const socks = flags.socks ? parseListen(flags.socks) : undefined;
      const stdio = flags.stdio ? parseHostPort(flags.stdio) : undefined;
      if (stdio && (forwards.length > 0 || socks)) throw new UsageError("--stdio cannot be combined with --forward or --socks");
      if (!stdio && forwards.length === 0 && !socks) throw new UsageError("say what to open: --forward LPORT:THOST:TPORT, --socks PORT or --stdio THOST:TPORT");

      const api = await apiClient();
      const info = await api.call("GET", routePath(ROUTES.device, { name: device }), DeviceInfo);
      if (!info.online) throw deviceOfflineError(info.name, info.lastSeen);
      const tunnel = new TunnelClient({ server: api.session.server, ca: api.ca, token: api.session.token, device: info.name });
      const open = (target: HostPort): Promise<Duplex> => tunnel.open(target);

      if (stdio) {
        const stream = await open(stdio);
        const local = Duplex.from({ readable: process.stdin, writable: process.stdout });
        await new Promise<void>((resolve, reject) => joinStreams(local, stream, ({ error }) => (error ? reject(error) : resolve())));
        tunnel.close();
        return;
      }

      const stopped = waitForSignal();
      const listeners: Listener[] = [];
      const onError = reportStreamError(info.name);
      try {
        for (const f of forwards) {
          const l = await startForward(f.listen, f.target, open, onError);
          listeners.push(l);
          process.stdout.write(`forwarding ${formatHostPort(l.address)} -> ${formatHostPort(f.target)} via ${info.name}\n`);
        }
        if (socks) {
          const s = await startSocks5Server({ host: socks.host, port: socks.port, open: (t) => open(t), onError: (err, t) => (t ? onError(err, t) : undefined) });
          listeners.push(s);
          process.stdout.write(`socks5 on ${formatHostPort(s.address)} via ${info.name}\n`);
        }
      } catch (err) {
        await Promise.all(listeners.map((l) => l.close()));
        tunnel.close();
        throw err;
      }
      await stopped;
      await Promise.all(listeners.map((l) => l.close()));
      tunnel.close();
    });
}
