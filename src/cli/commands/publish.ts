import type { Command } from "commander";
import { z } from "zod";
import { apiClient } from "../../client/api-client.js";
import { NameSchema, ROUTES, routePath } from "../../protocol/api.js";
import { PublishDataLog, PublishedPortInfo, PublishList } from "../../protocol/api-publish.js";
import { CidrSyntaxError } from "../../protocol/cidr.js";
import { UsageError } from "../../protocol/errors.js";
import { canonicalAllowFrom } from "../../protocol/published-ports.js";
import { parseHostPort, parsePort } from "../../protocol/target.js";
import { isoSeconds } from "../../shared/format.js";
import { printJson, printTable } from "../output.js";
import { collect } from "../util.js";

const Ok = z.object({ ok: z.boolean() });

interface PublishFlags {
  port?: string;
  target?: string;
  allowFrom: string[];
  name?: string;
  logData?: boolean;
  udp?: boolean;
  json?: boolean;
}

function checkedName(value: string, what = "published port name"): string {
  const parsed = NameSchema.safeParse(value);
  if (!parsed.success) throw new UsageError(`${what} "${value}": ${parsed.error.issues[0]?.message ?? "invalid"}`);
  return value;
}

/** `fernlink publish DEVICE --port N --target HOST:PORT [--udp] …`: checks what the server would refuse before asking it. */
async function publish(device: string, flags: PublishFlags): Promise<void> {
  checkedName(device, "device name");
  if (flags.port === undefined || flags.target === undefined) {
    throw new UsageError("publish needs --port N and --target HOST:PORT, e.g. fernlink publish press-7 --port 15020 --target 192.168.1.10:502");
  }
  let port: number;
  try {
    port = parsePort(flags.port);
    parseHostPort(flags.target);
  } catch (err) {
    throw new UsageError(`${(err as Error).message}`);
  }
  try {
    canonicalAllowFrom(flags.allowFrom);
  } catch (err) {
    if (err instanceof CidrSyntaxError) throw new UsageError(`--allow-from ${err.message}`);
    throw err;
  }
  const body = {
    device,
    port,
    target: flags.target,
    allowFrom: flags.allowFrom,
    logData: flags.logData === true,
    protocol: flags.udp === true ? ("udp" as const) : ("tcp" as const),
    ...(flags.name === undefined ? {} : { name: checkedName(flags.name) }),
  };
  const api = await apiClient();
  const added = await api.call("POST", ROUTES.publishedPorts, PublishedPortInfo, body);
  if (flags.json) return printJson(added);
  process.stdout.write(`published ${added.address} -> ${added.target} via ${added.device}\n`);
  const from = added.allowFrom.length > 0 ? added.allowFrom.join(", ") : "any address (no --allow-from)";
  process.stderr.write(`name: ${added.name}; connections accepted from ${from}${added.logData ? "; data logged" : ""}\n`);
}

function whitelist(p: PublishedPortInfo): string {
  return p.allowFrom.length > 0 ? p.allowFrom.join(",") : "any";
}

/** `publish list [--json] [--connections]`: the jobs table and, with --connections, the data connections table. */
async function list(flags: { json?: boolean; connections?: boolean }): Promise<void> {
  const api = await apiClient();
  const { range, ports } = await api.call("GET", ROUTES.publishedPorts, PublishList);
  if (flags.json) return printJson({ range, ports });
  printTable(
    ["NAME", "DEVICE", "ADDRESS", "TARGET", "WHITELIST", "STATE", "CONNS", "TOTAL", "REFUSED", "ERRORS", "LOG"],
    ports.map((p) => [
      p.name,
      p.device,
      p.address,
      p.target,
      whitelist(p),
      p.state === "active" && !p.listening ? "not listening" : p.state,
      String(p.connections.length),
      String(p.accepted),
      String(p.refused),
      String(p.errors),
      p.logData ? "yes" : "no",
    ]),
  );
  for (const p of ports) if (p.lastError && p.errors > 0) process.stderr.write(`${p.name}: last error: ${p.lastError}\n`);
  if (!flags.connections) return;
  process.stdout.write("\n");
  printTable(
    ["STREAM", "PORT", "SOURCE", "TARGET", "SINCE", "UP", "DOWN"],
    ports.flatMap((p) => p.connections.map((c) => [c.id, p.name, c.source, p.target, isoSeconds(c.since), String(c.bytesUp), String(c.bytesDown)])),
  );
}

async function setState(action: "pause" | "resume", name: string): Promise<void> {
  const api = await apiClient();
  const route = action === "pause" ? ROUTES.publishedPortPause : ROUTES.publishedPortResume;
  const info = await api.call("POST", routePath(route, { name: checkedName(name) }), PublishedPortInfo);
  process.stdout.write(`published port "${info.name}" ${action === "pause" ? "paused" : "resumed"}: ${info.address} -> ${info.target}\n`);
}

async function remove(name: string): Promise<void> {
  const api = await apiClient();
  await api.call("DELETE", routePath(ROUTES.publishedPort, { name: checkedName(name) }), Ok);
  process.stdout.write(`published port "${name}" removed\n`);
}

async function dataLog(name: string): Promise<void> {
  const api = await apiClient();
  const { log } = await api.call("GET", routePath(ROUTES.publishedPortLog, { name: checkedName(name) }), PublishDataLog);
  process.stdout.write(log);
}

/** `fernlink publish …`: published ports (forward jobs) on the server's host; admins only. */
export function registerPublishCommands(program: Command): void {
  const cmd = program
    .command("publish")
    .description("publish a port of the server's host that forwards to a target in a device's LAN (admins); see also: publish list")
    .argument("<device>", "the device whose LAN the target is in")
    .option("--port <n>", "the port to listen on, inside the server's --publish-ports range")
    .option("--target <host:port>", "where each connection goes, in the device's LAN")
    .option("--allow-from <cidr>", "only sources in this range may connect (repeatable; default: any)", collect, [])
    .option("--name <name>", "name of the published port (default: DEVICE-PORT)")
    .option("--log-data", "keep the bytes each way (the newest 1 MiB per port, in the server's memory) for: fernlink publish log NAME")
    .option("--udp", "publish a UDP port: each source address and port gets its own stream to the target, ended after 60 s without a datagram")
    .option("--json", "print JSON")
    .action(publish);
  cmd
    .command("list")
    .description("published ports: address, target (with /udp for UDP), whitelist, state, data connections, refused and failed connections")
    .option("--json", "print JSON: { range, ports }")
    .option("--connections", "also list each data connection with its bytes (close one with: fernlink live close STREAM)")
    // `--json` after `list` is taken by `publish` itself (Commander reads a parent's options anywhere).
    .action((flags: { json?: boolean; connections?: boolean }) => list({ ...flags, json: flags.json === true || cmd.opts<PublishFlags>().json === true }));
  cmd
    .command("pause <name>")
    .description("stop listening on the port; open data connections stay")
    .action((name: string) => setState("pause", name));
  cmd
    .command("resume <name>")
    .description("listen on a paused port again")
    .action((name: string) => setState("resume", name));
  cmd.command("remove <name>").description("remove the published port and cut its data connections").action(remove);
  cmd.command("log <name>").description("print the data log of a port published with --log-data: time, connection, up|down, bytes, hex").action(dataLog);
}
