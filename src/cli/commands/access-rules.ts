import type { Command } from "commander";
import { z } from "zod";
import { apiClient } from "../../client/api-client.js";
import { NameSchema, routePath } from "../../protocol/api.js";
import { ACCESS_ROUTES, AccessRuleInfo, GroupInfo, PoolInfo, RemovedReply } from "../../protocol/api-access.js";
import { UsageError } from "../../protocol/errors.js";
import { parseTargetEntry } from "../../protocol/target-filter.js";
import { isoSeconds } from "../../shared/format.js";
import { printJson, printTable } from "../output.js";
import { collect } from "../util.js";

const Ok = z.object({ ok: z.boolean() });

function checkName(kind: string, name: string): string {
  const parsed = NameSchema.safeParse(name);
  if (!parsed.success) throw new UsageError(`${kind} name "${name}": ${parsed.error.issues[0]?.message ?? "invalid"}`);
  return name;
}

/** The parts that differ between `group` (of users) and `pool` (of devices). */
interface SetKind {
  command: "group" | "pool";
  what: string;
  memberKind: "user" | "device";
  membersCommand: "members" | "devices";
  collection: string;
  item: string;
  changeRoute: string;
  schema: typeof GroupInfo | typeof PoolInfo;
  members(info: GroupInfo | PoolInfo): string[];
}

const GROUP: SetKind = {
  command: "group",
  what: "groups of users, which access rules grant access to",
  memberKind: "user",
  membersCommand: "members",
  collection: ACCESS_ROUTES.groups,
  item: ACCESS_ROUTES.group,
  changeRoute: ACCESS_ROUTES.groupMembers,
  schema: GroupInfo,
  members: (info) => ("members" in info ? info.members : []),
};

const POOL: SetKind = {
  command: "pool",
  what: "pools of devices, which access rules grant access to",
  memberKind: "device",
  membersCommand: "devices",
  collection: ACCESS_ROUTES.pools,
  item: ACCESS_ROUTES.pool,
  changeRoute: ACCESS_ROUTES.poolDevices,
  schema: PoolInfo,
  members: (info) => ("devices" in info ? info.devices : []),
};

function registerSet(program: Command, kind: SetKind): void {
  const cmd = program.command(kind.command).description(`manage ${kind.what} (account admins)`);
  const headerMembers = kind.membersCommand.toUpperCase();

  cmd
    .command("add <name>")
    .description(`create an empty ${kind.command}`)
    .action(async (name: string) => {
      const body = { name: checkName(kind.command, name) };
      const api = await apiClient();
      await api.call("POST", kind.collection, kind.schema, body);
      process.stdout.write(`${kind.command} "${name}" added\n`);
    });

  cmd
    .command("remove <name>")
    .description(`remove a ${kind.command} with its access rules; streams that relied on them end`)
    .action(async (name: string) => {
      const path = routePath(kind.item, { name: checkName(kind.command, name) });
      const api = await apiClient();
      const reply = await api.call("DELETE", path, RemovedReply);
      const rules = reply.rulesRemoved > 0 ? ` with ${reply.rulesRemoved} access rule${reply.rulesRemoved === 1 ? "" : "s"}` : "";
      process.stdout.write(`${kind.command} "${name}" removed${rules}\n`);
    });

  cmd
    .command("list")
    .description(`list the ${kind.command}s with their ${kind.membersCommand}`)
    .option("--json", "print JSON")
    .action(async (flags: { json?: boolean }) => {
      const api = await apiClient();
      const list = await api.call("GET", kind.collection, z.array(kind.schema));
      if (flags.json) return printJson(list);
      printTable(
        ["NAME", headerMembers, "CREATED"],
        list.map((g) => [g.name, kind.members(g).join(",") || "-", isoSeconds(g.createdAt)]),
      );
    });

  cmd
    .command(`${kind.membersCommand} <name>`)
    .description(`print the ${kind.membersCommand} of a ${kind.command}, after adding and removing some`)
    .option(`--add <${kind.memberKind}>`, `add a ${kind.memberKind} (repeatable)`, collect, [])
    .option(`--remove <${kind.memberKind}>`, `remove a ${kind.memberKind} (repeatable); its streams through this ${kind.command} end`, collect, [])
    .option("--json", "print JSON")
    .action(async (name: string, flags: { add: string[]; remove: string[]; json?: boolean }) => {
      const add = flags.add.map((n) => checkName(kind.memberKind, n));
      const remove = flags.remove.map((n) => checkName(kind.memberKind, n));
      const path = routePath(add.length + remove.length > 0 ? kind.changeRoute : kind.item, { name: checkName(kind.command, name) });
      const api = await apiClient();
      const info = add.length + remove.length > 0 ? await api.call("POST", path, kind.schema, { add, remove }) : await api.call("GET", path, kind.schema);
      if (flags.json) return printJson(info);
      const members = kind.members(info);
      if (members.length > 0) process.stdout.write(`${members.join("\n")}\n`);
      else process.stderr.write(`${kind.command} "${name}" has no ${kind.membersCommand}\n`);
    });
}

function registerAccess(program: Command): void {
  const access = program.command("access").description("grant groups access to pools of devices (account admins)");

  access
    .command("grant")
    .description("grant a group a level on a pool; replaces the group's earlier rule on that pool")
    .requiredOption("--group <group>", "the group of users")
    .requiredOption("--pool <pool>", "the pool of devices")
    .option("--level <level>", "view (see the devices) or connect (also open streams)", "connect")
    .option(
      "--targets <host[:port,port…]>",
      "narrow connect to these targets; host an IP, CIDR or name (repeatable; default: each device's LAN ranges)",
      collect,
      [],
    )
    .action(async (flags: { group: string; pool: string; level: string; targets: string[] }) => {
      if (flags.level !== "view" && flags.level !== "connect") throw new UsageError(`--level "${flags.level}" must be view or connect`);
      if (flags.level === "view" && flags.targets.length > 0) throw new UsageError("--targets narrow connect rules only; drop them for --level view");
      for (const t of flags.targets) parseTargetEntry(t);
      const request = {
        group: checkName("group", flags.group),
        pool: checkName("pool", flags.pool),
        level: flags.level,
        ...(flags.targets.length > 0 ? { targets: flags.targets } : {}),
      };
      const api = await apiClient();
      const rule = await api.call("POST", ACCESS_ROUTES.accessRules, AccessRuleInfo, request);
      const where = rule.targets ? `targets ${rule.targets.join(" ")}` : "the devices' LAN ranges";
      process.stdout.write(`granted group "${rule.group}" ${rule.level} on pool "${rule.pool}" (${rule.level === "connect" ? where : "no streams"})\n`);
    });

  access
    .command("list")
    .description("list the access rules")
    .option("--json", "print JSON")
    .action(async (flags: { json?: boolean }) => {
      const api = await apiClient();
      const rules = await api.call("GET", ACCESS_ROUTES.accessRules, z.array(AccessRuleInfo));
      if (flags.json) return printJson(rules);
      printTable(
        ["GROUP", "POOL", "LEVEL", "TARGETS"],
        rules.map((r) => [r.group, r.pool, r.level, r.level === "view" ? "-" : (r.targets?.join(" ") ?? "LAN ranges")]),
      );
    });

  access
    .command("revoke")
    .description("revoke a group's rule on a pool; live streams that relied on it end")
    .requiredOption("--group <group>", "the group of users")
    .requiredOption("--pool <pool>", "the pool of devices")
    .action(async (flags: { group: string; pool: string }) => {
      const path = routePath(ACCESS_ROUTES.accessRule, { group: checkName("group", flags.group), pool: checkName("pool", flags.pool) });
      const api = await apiClient();
      await api.call("DELETE", path, Ok);
      process.stdout.write(`revoked group "${flags.group}" on pool "${flags.pool}"\n`);
    });
}

/** `fernlink group …`, `pool …`, `access …`. */
export function registerAccessRuleCommands(program: Command): void {
  registerSet(program, GROUP);
  registerSet(program, POOL);
  registerAccess(program);
}
