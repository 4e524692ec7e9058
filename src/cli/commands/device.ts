import type { Command } from "commander";
import { z } from "zod";
import { type ApiClient, apiClient } from "../../client/api-client.js";
import { AccountAdmins, ActivationKeyResponse, DeviceInfo, NameSchema, ROUTES, routePath, WhoAmI } from "../../protocol/api.js";
import { UsageError } from "../../protocol/errors.js";
import { noRuleHint } from "../../protocol/no-rule-hint.js";
import { switchNote } from "../../protocol/switch-note.js";
import { isoSeconds } from "../../shared/format.js";
import { checkLanRanges } from "../lan-ranges.js";
import { printJson, printTable } from "../output.js";
import { collect } from "../util.js";
import { registerDeviceAgentPublishCommand } from "./device-agent-publish.js";
import { registerDeviceWebCommand } from "./device-web.js";
import { registerDeviceRecordCommand } from "./recording.js";

const Ok = z.object({ ok: z.boolean() });

function deviceName(name: string): string {
  const parsed = NameSchema.safeParse(name);
  if (!parsed.success) throw new UsageError(`device name "${name}": ${parsed.error.issues[0]?.message ?? "invalid"}`);
  return name;
}

/** Quotes a value for a POSIX shell when it holds anything beyond plain path characters. */
function shellWord(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, "'\\''")}'`;
}

/**
 * The key on stdout (the contract's one line), then on stderr the exact command that registers
 * the agent. The key goes in through the environment, never the agent's argv, where any
 * local user could read it in the process list.
 */
function printKey(api: ApiClient, reply: ActivationKeyResponse): void {
  process.stdout.write(`activation key: ${reply.activationKey}\n`);
  const ca = api.caPath === null ? "" : ` --ca ${shellWord(api.caPath)}`;
  const lines = [
    `The key registers one agent once, until ${reply.expiresAt}; a newer key (fernlink device key ${reply.device.name}) cancels it. On the gateway PC run:`,
    `  FERNLINK_ACTIVATION_KEY=${reply.activationKey} fernlink agent register --server ${api.session.server}${ca} --state ./agent-state`,
    `  fernlink agent run --state ./agent-state`,
  ];
  if (api.caPath !== null) lines.push(`On another machine than this one, copy ${api.caPath} there first and give its path to --ca.`);
  process.stderr.write(`${lines.join("\n")}\n`);
}

/** Why a listing is empty: an admin has added nothing yet; a member has no rule, and is told whom to ask. */
async function whyNoDevices(api: ApiClient): Promise<string> {
  const who = await api.call("GET", ROUTES.whoami, WhoAmI);
  if (who.role === "admin") return `account "${who.account}" has no devices yet; add one with: fernlink device add NAME --lan CIDR`;
  return noRuleHint(await api.call("GET", ROUTES.accountAdmins, AccountAdmins));
}

/** The state, with what the machine's key switch adds ("offline, switched off"). */
function stateText(d: Pick<DeviceInfo, "state" | "online" | "switch">): string {
  const note = switchNote(d.online, d.switch);
  const state: string = d.state === "not-registered" ? "not registered" : d.state;
  return note ? `${state}, ${note}` : state;
}

function when(iso: string | null): string {
  return iso ? isoSeconds(iso) : "never";
}

/** `fernlink device add|list|show|remove|key|web`. */
export function registerDeviceCommands(program: Command): void {
  const device = program.command("device").description("manage the devices (machines) of your account");

  device
    .command("add <name>")
    .description("add a device and print its one-time activation key")
    .option("--lan <cidr>", "address range of the machine LAN the agent may reach (repeatable)", collect, [])
    .action(async (name: string, flags: { lan: string[] }) => {
      const { lan, warnings } = checkLanRanges(name, flags.lan);
      const api = await apiClient();
      const reply = await api.call("POST", ROUTES.devices, ActivationKeyResponse, { name: deviceName(name), lan });
      for (const warning of warnings) process.stderr.write(`fernlink: warning: ${warning}\n`);
      printKey(api, reply);
    });

  device
    .command("key <name>")
    .description("issue a new activation key, to register the device again")
    .action(async (name: string) => {
      const api = await apiClient();
      printKey(api, await api.call("POST", routePath(ROUTES.deviceKey, { name: deviceName(name) }), ActivationKeyResponse));
    });

  device
    .command("list")
    .description("list devices with their online state")
    .option("--json", "print JSON")
    .action(async (flags: { json?: boolean }) => {
      const api = await apiClient();
      const devices = await api.call("GET", ROUTES.devices, z.array(DeviceInfo));
      if (flags.json) return printJson(devices);
      if (devices.length === 0) process.stderr.write(`fernlink: ${await whyNoDevices(api)}\n`);
      printTable(
        ["NAME", "STATE", "LAST SEEN", "RELAY", "LAN"],
        devices.map((d) => [d.name, stateText(d), when(d.lastSeen), d.relay ?? "-", d.lan.join(",") || "-"]),
      );
    });

  device
    .command("show <name>")
    .description("show one device")
    .option("--json", "print JSON")
    .action(async (name: string, flags: { json?: boolean }) => {
      const api = await apiClient();
      const d = await api.call("GET", routePath(ROUTES.device, { name: deviceName(name) }), DeviceInfo);
      if (flags.json) return printJson(d);
      const rows: [string, string][] = [
        ["name", d.name],
        ["state", stateText(d)],
        ["switch", d.switch ? `${d.switch} (since ${when(d.switchedAt)})` : "not reported"],
        ["last seen", when(d.lastSeen)],
        ["address", d.address ?? "-"],
        ["relay", d.relay ?? "-"],
        ["lan", d.lan.join(", ") || "-"],
        ["created", when(d.createdAt)],
      ];
      process.stdout.write(`${rows.map(([k, v]) => `${k.padEnd(10)} ${v}`).join("\n")}\n`);
    });

  device
    .command("remove <name>")
    .description("remove a device; its certificate is revoked and its tunnel closed")
    .action(async (name: string) => {
      const api = await apiClient();
      await api.call("DELETE", routePath(ROUTES.device, { name: deviceName(name) }), Ok);
      process.stdout.write(`device "${name}" removed\n`);
    });

  registerDeviceWebCommand(device);
  registerDeviceAgentPublishCommand(device);
  registerDeviceRecordCommand(device);
}
