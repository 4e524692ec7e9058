import { resolve } from "node:path";
import type { Command } from "commander";
import { readCa } from "../../client/client-state.js";
import { FernlinkError, UsageError } from "../../protocol/errors.js";
import { parsePortRange } from "../../protocol/published-ports.js";
import { RelayName, RelayRegion } from "../../protocol/relay-link.js";
import { parseHostPort } from "../../protocol/target.js";
import { commandLogger, logFormat, logFormatOption, notice } from "../log-format.js";
import { type StoreFlags, storeOptions, withStore } from "../store-access.js";
import { collect, waitForSignal } from "../util.js";

function checkName(name: string): string {
  if (!RelayName.safeParse(name).success)
    throw new UsageError(`relay name "${name}" must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit`);
  return name;
}

function parsePublishPorts(value: string) {
  try {
    return parsePortRange(value);
  } catch (err) {
    throw new UsageError(`--publish-ports ${(err as Error).message}`);
  }
}

function checkRegion(region: string | undefined): string | undefined {
  if (region !== undefined && !RelayRegion.safeParse(region).success) throw new UsageError(`--region "${region}" must be letters, digits, ".", "_" or "-"`);
  return region;
}

function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

/** `fernlink relay add|run|list|drain|remove`: the relay tier. */
export function registerRelayCommands(program: Command): void {
  const relay = program.command("relay").description("relays that hold agents' tunnels, apart from the access nodes");

  storeOptions(relay.command("add <name>").description("add a relay; prints its one-time key for: fernlink relay run --key KEY"))
    .option("--region <name>", "the relay's region (agents prefer relays of their own)")
    .action(async (name: string, flags: StoreFlags & { region?: string }) => {
      checkName(name);
      const region = checkRegion(flags.region);
      const { addRelayWithKey } = await import("../../access/relays.js");
      const { key, expiresAt } = await withStore(flags, (store) => addRelayWithKey(store.db, { name, region, now: new Date() }));
      process.stdout.write(`relay key: ${key}\n`);
      process.stderr.write(
        `relay "${name}" added; the key works once, until ${expiresAt.toISOString()}; on the relay's machine set FERNLINK_RELAY_KEY to it (keeps it ` +
          `out of the process list) and run: fernlink relay run --access URL --ca ca.pem --state DIR --listen HOST:PORT\n`,
      );
    });

  relay
    .command("run")
    .description("run a relay: registers once with --key, then holds agents' tunnels")
    .requiredOption("--access <url>", "https://HOST:PORT of an access node (repeatable: tried in turn)", collect, [])
    .option("--ca <file>", "the service's CA certificate (ca.pem); or FERNLINK_CA")
    .option("--key <key>", "the one-time key from: fernlink relay add NAME (first start only; or FERNLINK_RELAY_KEY)")
    .requiredOption("--state <dir>", "directory for the relay's key, certificate and settings")
    .requiredOption("--listen <host:port>", "TLS address agents and access nodes connect to")
    .option("--public-url <url>", "https://HOST:PORT agents and access nodes reach this relay at (default: https://LISTEN)")
    .option("--region <name>", "the relay's region")
    .option("--publish-ports <low-high>", "ports of the --listen host that published ports of devices held here may use, e.g. 15000-15099 (default: none)")
    .option("--metrics-listen <host:port>", "serve Prometheus metrics at http://HOST:PORT/metrics (default: off; keep it off the public network)")
    .addOption(logFormatOption())
    .action(
      async (flags: {
        logFormat?: string;
        access: string[];
        ca?: string;
        key?: string;
        state: string;
        listen: string;
        publicUrl?: string;
        region?: string;
        metricsListen?: string;
        publishPorts?: string;
      }) => {
        const format = logFormat(flags.logFormat);
        const log = commandLogger("relay", format);
        for (const url of flags.access) if (!/^https:\/\//.test(url)) throw new UsageError(`--access "${url}" must start with https://`);
        if (flags.access.length === 0) throw new UsageError("--access URL is needed");
        if (flags.publicUrl !== undefined && !/^https:\/\/[^/]+\/?$/.test(flags.publicUrl))
          throw new UsageError(`--public-url "${flags.publicUrl}" must be https://HOST:PORT`);
        const listen = parseHostPort(flags.listen, true);
        const metricsListen = flags.metricsListen === undefined ? undefined : parseHostPort(flags.metricsListen, true);
        const region = checkRegion(flags.region);
        const publishPorts = flags.publishPorts === undefined ? undefined : parsePublishPorts(flags.publishPorts);
        const ca = await readCa(flags.ca ?? process.env["FERNLINK_CA"]);
        const { startRelayNode } = await import("../../server/relay-node.js");
        const running = await startRelayNode({
          access: flags.access.map((u) => new URL(u).origin),
          ca,
          key: flags.key ?? process.env["FERNLINK_RELAY_KEY"],
          stateDir: resolve(flags.state),
          listen,
          publicUrl: flags.publicUrl === undefined ? undefined : new URL(flags.publicUrl).origin,
          region,
          log,
          metricsListen,
          publishPorts,
        });
        if (running.metricsUrl) notice(log, format, `metrics at ${running.metricsUrl}`);
        process.stdout.write(`fernlink relay ready: ${running.url}\n`);
        const stopped = waitForSignal().then(() => "signal" as const);
        const outcome = await Promise.race([stopped, running.finished.then(() => "drained" as const)]);
        if (outcome === "signal") {
          log.info("shutting down");
          await running.close();
        }
      },
    );

  storeOptions(relay.command("list").description("the relays: name, region, url, online, devices, streams, bytes, draining"))
    .option("--json", "print JSON")
    .action(async (flags: StoreFlags & { json?: boolean }) => {
      const { listRelays } = await import("../../access/store/relays.js");
      const { relayEntry } = await import("../../access/relay-directory.js");
      const now = new Date();
      const entries = (await withStore(flags, (store) => listRelays(store.db))).map((r) => relayEntry(r, now));
      const rows = entries.map((e) => ({
        name: e.name,
        kind: e.kind,
        region: e.region,
        url: e.url,
        online: e.online,
        devices: e.online ? e.devices : 0,
        streams: e.online ? e.streams : 0,
        bytesUp: e.bytesUp,
        bytesDown: e.bytesDown,
        draining: e.draining,
      }));
      if (flags.json) return void process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      if (rows.length === 0) return void process.stdout.write("no relays; add one with: fernlink relay add NAME --data DIR\n");
      const table = [
        ["NAME", "REGION", "URL", "ONLINE", "DEVICES", "STREAMS", "BYTES UP/DOWN", "DRAINING"],
        ...rows.map((r) => [
          r.name,
          r.region ?? "-",
          r.url ?? "(not registered)",
          r.online ? "yes" : "no",
          String(r.devices),
          String(r.streams),
          `${bytes(r.bytesUp)} / ${bytes(r.bytesDown)}`,
          r.draining ? "yes" : "no",
        ]),
      ];
      const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
      const lines = table.map((row) =>
        row
          .map((cell, i) => cell.padEnd(widths[i]!))
          .join("  ")
          .trimEnd(),
      );
      process.stdout.write(`${lines.join("\n")}\n`);
    });

  storeOptions(relay.command("drain <name>").description("move a relay's agents to other relays; it exits when empty (open streams get up to 10 min)")).action(
    async (name: string, flags: StoreFlags) => {
      const { drainRelay } = await import("../../access/store/relays.js");
      if (!(await withStore(flags, (store) => drainRelay(store.db, checkName(name), new Date()))))
        throw new FernlinkError("not-found", `no relay "${name}"; see: fernlink relay list --data DIR`);
      process.stdout.write(`relay "${name}" is draining\n`);
    },
  );

  storeOptions(relay.command("remove <name>").description("remove a relay: its certificate is refused from now on")).action(
    async (name: string, flags: StoreFlags) => {
      const { removeRelay } = await import("../../access/store/relays.js");
      if (!(await withStore(flags, (store) => removeRelay(store.db, checkName(name)))))
        throw new FernlinkError("not-found", `no relay "${name}"; see: fernlink relay list --data DIR`);
      process.stdout.write(`relay "${name}" removed\n`);
    },
  );
}
