import { text } from "node:stream/consumers";
import type { Command } from "commander";
import { z } from "zod";
import { apiClient } from "../../client/api-client.js";
import { NameSchema, ROUTES, routePath } from "../../protocol/api.js";
import { MAX_WEB_TARGET_PASSWORD, WebTargetInfo, WebTargetList, WebTargetName } from "../../protocol/api-web-targets.js";
import { UsageError } from "../../protocol/errors.js";
import { parseWebTargetUrl } from "../../protocol/web-target-url.js";
import { printJson, printTable } from "../output.js";

const Ok = z.object({ ok: z.boolean() });

interface WebFlags {
  json?: boolean;
  add?: string;
  name?: string;
  passwordStdin?: boolean;
  remove?: string;
}

function checked(schema: z.ZodType, what: string, value: string): string {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new UsageError(`${what} "${value}": ${parsed.error.issues[0]?.message ?? "invalid"}`);
  return value;
}

/** The flags must name one action: list (none), --add with --name, or --remove. */
function checkFlags(flags: WebFlags): void {
  if (flags.add !== undefined && flags.remove !== undefined) throw new UsageError("--add and --remove exclude each other: pick one");
  if (flags.add === undefined) {
    if (flags.name !== undefined) throw new UsageError("--name goes with --add URL");
    if (flags.passwordStdin) throw new UsageError("--password-stdin goes with --add vnc://HOST[:PORT]");
  } else if (flags.name === undefined) {
    throw new UsageError("--add needs --name NAME, e.g. --add https://192.168.1.10/ --name main-hmi");
  }
  if (flags.remove !== undefined && flags.json) throw new UsageError("--json applies to the listing and to --add, not to --remove");
}

/** Reads the VNC password piped to stdin, without one trailing newline; never from a terminal (it would echo). */
async function passwordFromStdin(): Promise<string> {
  if (process.stdin.isTTY)
    throw new UsageError("--password-stdin reads a pipe, not a terminal (it would echo); e.g. printf '%s' \"$VNC_PASSWORD\" | fernlink device web …");
  const password = (await text(process.stdin)).replace(/\r?\n$/, "");
  if (password === "") throw new UsageError("--password-stdin read an empty password; pipe the VNC password in");
  if (password.length > MAX_WEB_TARGET_PASSWORD)
    throw new UsageError(`--password-stdin read more than ${MAX_WEB_TARGET_PASSWORD} characters; a VNC password is shorter`);
  return password;
}

/** `fernlink device web DEVICE [--json] | --add URL --name NAME [--password-stdin] | --remove NAME`. */
export function registerDeviceWebCommand(device: Command): void {
  device
    .command("web <device>")
    .description("list the device's web targets (HMI pages, VNC panels) for the portal; admins add and remove them")
    .option("--json", "print JSON")
    .option("--add <url>", "publish http://HOST[:PORT][/PATH], https://… or vnc://HOST[:PORT] (admin)")
    .option("--name <name>", "name of the target to add (unique on the device)")
    .option("--password-stdin", "read the VNC password from stdin (vnc:// only); it is stored sealed and never shown")
    .option("--remove <name>", "remove the target of this name (admin)")
    .action(async (name: string, flags: WebFlags) => {
      const deviceName = checked(NameSchema, "device name", name);
      checkFlags(flags);
      const path = routePath(ROUTES.deviceWeb, { name: deviceName });

      if (flags.remove !== undefined) {
        const target = checked(WebTargetName, "web target name", flags.remove);
        const api = await apiClient();
        await api.call("DELETE", routePath(ROUTES.deviceWebTarget, { name: deviceName, target }), Ok);
        process.stdout.write(`web target "${target}" removed from "${deviceName}"\n`);
        return;
      }

      if (flags.add !== undefined) {
        const targetName = checked(WebTargetName, "web target name", flags.name ?? "");
        const { kind } = parseWebTargetUrl(flags.add);
        if (flags.passwordStdin && kind !== "vnc") throw new UsageError("--password-stdin applies to vnc:// targets only");
        const password = flags.passwordStdin ? await passwordFromStdin() : undefined;
        const api = await apiClient();
        const added = await api.call("POST", path, WebTargetInfo, { name: targetName, url: flags.add, ...(password === undefined ? {} : { password }) });
        if (flags.json) return printJson(added);
        process.stdout.write(`web target "${added.name}" added to "${deviceName}": ${added.url}${added.hasPassword ? " (password stored)" : ""}\n`);
        return;
      }

      const api = await apiClient();
      const { targets } = await api.call("GET", path, WebTargetList);
      if (flags.json) return printJson(targets);
      printTable(
        ["NAME", "KIND", "URL", "PASSWORD"],
        targets.map((t) => [t.name, t.kind, t.url, t.hasPassword ? "yes" : "no"]),
      );
    });
}
