import { join, resolve } from "node:path";
import type { Command } from "commander";
import { FernlinkError, UsageError } from "../../protocol/errors.js";
import { parsePortRange } from "../../protocol/published-ports.js";
import { RelayName, RelayRegion } from "../../protocol/relay-link.js";
import { formatHostPort, type HostPort, parseHostPort } from "../../protocol/target.js";
import { DEFAULT_STREAM_RATE, type StreamRate } from "../../relay/stream-throttle.js";
import { CONNECTION_LIMITS } from "../../server/connection-limits.js";
import { commandLogger, logFormat, logFormatOption, notice } from "../log-format.js";
import { readPassword } from "../password.js";
import { sameDataServer } from "../server-port-busy.js";
import { collect, waitForSignal } from "../util.js";
import { registerBackupCommands } from "./server-backup.js";

/** Default data directory, relative to where the server starts. */
const DEFAULT_DATA = "./fernlink-data";

/** Default listen address: loopback, so a first try exposes nothing. */
export const DEFAULT_LISTEN = "127.0.0.1:8443";

interface ServerFlags {
  data: string;
  listen: string;
  hostname: string[];
  db?: string;
  clusterKey?: string;
  initAccount?: string;
  initUser?: string;
  webDomain?: string;
  streamRate?: string;
  maxUnauthenticatedPerSource?: string;
  relay: boolean;
  publicUrl?: string;
  relayName?: string;
  region?: string;
  metricsListen?: string;
  publishPorts?: string;
  logFormat?: string;
}

/** `--max-unauthenticated-per-source`: a whole number of connections, at least 1. */
function parseConnectionCap(value: string): number {
  const n = /^\d{1,7}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1)) throw new UsageError(`--max-unauthenticated-per-source "${value}" is not a whole number of at least 1`);
  return n;
}

function firstStartHelp(url: string, data: string): string {
  const dataFlag = data === DEFAULT_DATA ? "" : ` --data ${data}`;
  return [
    "No account exists yet. Create the first one, with its admin, from another terminal (this server keeps running and serves it):",
    `  export FERNLINK_PASSWORD='…'          # the admin's password (else it is asked for)`,
    `  fernlink server${dataFlag} --init-account NAME --init-user NAME`,
    "then log in with",
    `  fernlink login --server ${url} --ca ${join(data, "ca.pem")} --account NAME --user NAME`,
  ].join("\n");
}

/** A port already taken: by this data folder's own server (which then serves a new --init-account), or by something else. */
async function portBusy(err: unknown, flags: ServerFlags, dataDir: string, listen: HostPort): Promise<void> {
  if (!(err instanceof Error && "code" in err && err.code === "EADDRINUSE")) throw err;
  const running = await sameDataServer(dataDir, listen);
  if (running && flags.initAccount) {
    process.stdout.write(`account "${flags.initAccount}" is ready: the server of ${flags.data} already runs at ${running} and serves it; log in there\n`);
    return;
  }
  if (running)
    throw new FernlinkError("conflict", `the server of ${flags.data} already runs at ${running}; use that one, or stop it (Ctrl-C) before starting it again`);
  throw new FernlinkError(
    "conflict",
    `${formatHostPort(listen)} is in use by another program; stop it, or give this server another port with --listen HOST:PORT`,
  );
}

/** `--stream-rate N`: a whole number of streams per second; the burst is four times that. */
function parseStreamRate(value: string): StreamRate {
  const perSecond = Number(value);
  if (!/^\d+$/.test(value) || perSecond < 1 || perSecond > 1_000_000) {
    throw new UsageError(`--stream-rate "${value}" must be a whole number of streams per second from 1 to 1000000`);
  }
  return { perSecond, burst: 4 * perSecond };
}

/** `--publish-ports LOW-HIGH`. */
function parsePublishPorts(value: string) {
  try {
    return parsePortRange(value);
  } catch (err) {
    throw new UsageError(`--publish-ports ${(err as Error).message}`);
  }
}

/** `fernlink server`: access service and embedded relay on one TLS port. */
export function registerServerCommand(program: Command): void {
  const serverCommand = program
    .command("server")
    .description("run the access service with its embedded relay")
    .option("--data <dir>", "data directory (SQLite database, CA)", DEFAULT_DATA)
    .option("--listen <host:port>", "TLS address for API, web and tunnels", DEFAULT_LISTEN)
    .option("--hostname <name>", "name or address clients use to reach this server (repeatable)", collect, [])
    .option("--db <url>", "postgres://… to use PostgreSQL instead of the embedded SQLite")
    .option(
      "--cluster-key <file>",
      "with --db postgres://…: the cluster key file every node shares (default: DIR/cluster-key, or the file FERNLINK_CLUSTER_KEY names)",
    )
    .option("--init-account <name>", "create this account on start if it does not exist")
    .option("--init-user <name>", "the first admin of --init-account")
    .option(
      "--web-domain <name>",
      "domain whose subdomains w-<id>.<name> serve published HMI pages (needs wildcard DNS; default: the first --hostname that is a name, e.g. localhost)",
    )
    .option("--stream-rate <n>", `streams per second one user may open to one device (${DEFAULT_STREAM_RATE.perSecond}; bursts of 4× that)`)
    .option(
      "--max-unauthenticated-per-source <n>",
      `connections one address (IPv6: one /64) may hold before its TLS handshake, agent certificate or session proved it ` +
        `(default ${CONNECTION_LIMITS.maxUnauthenticatedPerSource}; a plant's NAT puts all its users on one address)`,
    )
    .option("--no-relay", "an access node without its own relay: agents go to the relays (fernlink relay add/run)")
    .option("--public-url <url>", "https://HOST:PORT other nodes and agents reach this node at (default: from --listen)")
    .option("--relay-name <name>", "the name of this node's embedded relay in: fernlink relay list (default: node- and a random id)")
    .option("--region <name>", "the region of this node's embedded relay")
    .option("--metrics-listen <host:port>", "serve Prometheus metrics at http://HOST:PORT/metrics (default: off; keep it off the public network)")
    .option("--publish-ports <low-high>", "ports of the --listen host that published ports may use, e.g. 15000-15099 (default: none)")
    .addOption(logFormatOption())
    .action(async (flags: ServerFlags) => {
      const format = logFormat(flags.logFormat);
      const log = commandLogger("server", format);
      if (flags.publicUrl !== undefined && !/^https:\/\/[^/]+\/?$/.test(flags.publicUrl))
        throw new UsageError(`--public-url "${flags.publicUrl}" must be https://HOST:PORT`);
      if (flags.relayName !== undefined && !RelayName.safeParse(flags.relayName).success)
        throw new UsageError(`--relay-name "${flags.relayName}" must be letters, digits, ".", "_" or "-"`);
      if (flags.region !== undefined && !RelayRegion.safeParse(flags.region).success)
        throw new UsageError(`--region "${flags.region}" must be letters, digits, ".", "_" or "-"`);
      const listen = parseHostPort(flags.listen, true);
      const metricsListen = flags.metricsListen === undefined ? undefined : parseHostPort(flags.metricsListen, true);
      const publishPorts = flags.publishPorts === undefined ? undefined : parsePublishPorts(flags.publishPorts);
      const streamRate = flags.streamRate === undefined ? undefined : parseStreamRate(flags.streamRate);
      const maxUnauthenticatedPerSource = flags.maxUnauthenticatedPerSource === undefined ? undefined : parseConnectionCap(flags.maxUnauthenticatedPerSource);
      if (Boolean(flags.initAccount) !== Boolean(flags.initUser)) throw new UsageError("--init-account and --init-user go together");
      const init =
        flags.initAccount && flags.initUser
          ? { account: flags.initAccount, user: flags.initUser, password: await readPassword("FERNLINK_PASSWORD", `password for ${flags.initUser}: `) }
          : undefined;
      // Loaded here, not at the top: every other command starts faster without the server stack.
      const { defaultHostnames, startServer } = await import("../../server/server.js");
      const dataDir = resolve(flags.data);
      // A path, never the key itself: argv and the environment end up in process listings and logs.
      const clusterKeyFile = flags.clusterKey ?? process.env["FERNLINK_CLUSTER_KEY"];
      const hostnames = flags.hostname.length > 0 ? flags.hostname : defaultHostnames(listen.host);
      if (
        flags.webDomain !== undefined &&
        !/^(?=.{1,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(flags.webDomain)
      ) {
        throw new UsageError(`--web-domain "${flags.webDomain}" is not a DNS name; give one such as portal.example.com`);
      }
      let server: Awaited<ReturnType<typeof startServer>>;
      try {
        server = await startServer({
          dataDir,
          listen,
          hostnames,
          dbUrl: flags.db ?? process.env["FERNLINK_DB"],
          clusterKeyFile: clusterKeyFile === undefined || clusterKeyFile === "" ? undefined : resolve(clusterKeyFile),
          init,
          log,
          webDomain: flags.webDomain?.toLowerCase(),
          streamRate,
          noRelay: !flags.relay,
          publicUrl: flags.publicUrl === undefined ? undefined : new URL(flags.publicUrl).origin,
          relayName: flags.relayName,
          region: flags.region,
          metricsListen,
          publishPorts,
          ...(maxUnauthenticatedPerSource ? { limits: { maxUnauthenticatedPerSource } } : {}),
        });
      } catch (err) {
        return await portBusy(err, flags, dataDir, listen);
      }
      const stopped = waitForSignal();
      // On stderr: stdout carries only the one ready line that scripts wait for.
      if (server.needsFirstAccount) notice(log, format, firstStartHelp(server.url, flags.data));
      if (server.metricsUrl) notice(log, format, `metrics at ${server.metricsUrl}`);
      process.stdout.write(`fernlink server ready: ${server.url}\n`);
      await stopped;
      log.info("shutting down");
      await server.close();
    });
  registerBackupCommands(serverCommand);
}
