import { userInfo } from "node:os";
import { resolve } from "node:path";
import type { Command } from "commander";
import type { OperatorRecord } from "../../access/operator-accounts.js";
import { openServerKeys } from "../../access/shared-keys.js";
import type { Store } from "../../access/store/index.js";
import { UsageError } from "../../protocol/errors.js";
import { createLogger } from "../../shared/log.js";
import { printJson, printTable } from "../output.js";
import { readNewPassword } from "../password.js";
import { type StoreFlags, storeOptions, withStore } from "../store-access.js";
import { checkedName } from "./user-options.js";

const log = createLogger("operator");

/** The operator acting on the host: the store is read directly, with no Fernlink session. */
async function operatorRecord(store: Store, flags: StoreFlags): Promise<OperatorRecord> {
  const now = new Date();
  const { auditKey } = await openServerKeys({ dataDir: resolve(flags.data), store, clusterKeyFile: process.env["FERNLINK_CLUSTER_KEY"], log, now });
  return { auditKey, operator: `${userInfo().username} (operator)`, now };
}

function sinceFlag(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const at = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(at.getTime())) throw new UsageError(`--since "${text}" is not a date; use ISO 8601, e.g. 2026-11-01`);
  return at;
}

/** `fernlink operator account add|list|disable|enable|remove`: accounts, from the server's host. */
export function registerOperatorCommands(program: Command): void {
  const operator = program.command("operator").description("the service operator's controls above accounts, run on the server's host against its store");
  const account = operator.command("account").description("create, list, disable, enable and remove accounts (works while the server runs)");

  storeOptions(account.command("add <name>").description("create an account with its first admin; the admin's password from FERNLINK_PASSWORD or a prompt"))
    .requiredOption("--admin <user>", "the account's first admin")
    .action(async (name: string, flags: StoreFlags & { admin: string }) => {
      checkedName("account", name);
      checkedName("user", flags.admin);
      const password = await readNewPassword("FERNLINK_PASSWORD", `first password for ${flags.admin}@${name}: `);
      const { addAccount } = await import("../../access/operator-accounts.js");
      await withStore(flags, async (store) => addAccount(store.db, { name, admin: flags.admin, password }, await operatorRecord(store, flags)));
      process.stdout.write(`account "${name}" created; its admin logs in with: fernlink login --account ${name} --user ${flags.admin}\n`);
    });

  storeOptions(
    account
      .command("list")
      .description(
        "every account with its usage: USERS and DEVICES it has, ONLINE devices with a tunnel now and STREAMS open now " +
          "(from the tunnel and stream audit records, for devices seen in the last 2.5 minutes), " +
          "BYTES UP/DOWN of its closed streams (since --since, else all), and STATE",
      ),
  )
    .option("--since <iso>", "count the bytes of streams closed since then")
    .option("--json", "print JSON")
    .action(async (flags: StoreFlags & { since?: string; json?: boolean }) => {
      const since = sinceFlag(flags.since);
      const { accountSummaries } = await import("../../access/operator-accounts.js");
      const rows = await withStore(flags, (store) => accountSummaries(store.db, new Date(), since));
      if (flags.json) return printJson(rows);
      if (rows.length === 0) return void process.stdout.write("no accounts yet; create one with: fernlink operator account add NAME --admin USER --data DIR\n");
      printTable(
        ["ACCOUNT", "STATE", "USERS", "DEVICES", "ONLINE", "STREAMS", "BYTES UP", "BYTES DOWN"],
        rows.map((r) => [r.name, r.state, String(r.users), String(r.devices), String(r.online), String(r.streams), String(r.bytesUp), String(r.bytesDown)]),
      );
    });

  for (const state of ["disabled", "enabled"] as const) {
    const verb = state === "disabled" ? "disable" : "enable";
    const what =
      state === "disabled"
        ? "disable an account: its users cannot log in, sessions and API tokens are refused, devices' tunnels and open streams are cut within seconds"
        : "enable a disabled account again: logins, sessions, API tokens and devices work as before";
    storeOptions(account.command(`${verb} <name>`).description(what)).action(async (name: string, flags: StoreFlags) => {
      checkedName("account", name);
      const { setAccountState } = await import("../../access/operator-accounts.js");
      const changed = await withStore(flags, async (store) => setAccountState(store.db, name, state, await operatorRecord(store, flags)));
      process.stdout.write(changed ? `account "${name}" ${state}\n` : `account "${name}" was already ${state}\n`);
    });
  }

  storeOptions(
    account
      .command("remove <name>")
      .description("remove an account with its users, devices (certificates revoked), rules and ports; its audit records are kept"),
  )
    .option("--yes", "really remove it (nothing can bring it back)")
    .action(async (name: string, flags: StoreFlags & { yes?: boolean }) => {
      checkedName("account", name);
      if (!flags.yes) throw new UsageError(`removing account "${name}" deletes its users and devices for good; add --yes (or disable it instead)`);
      const { removeAccount } = await import("../../access/operator-accounts.js");
      const gone = await withStore(flags, async (store) => removeAccount(store.db, name, await operatorRecord(store, flags)));
      process.stdout.write(`account "${name}" removed with ${gone.users} user(s) and ${gone.devices} device(s); its audit records are kept\n`);
    });

  const token = operator.command("token").description("operator tokens for /api/v1/operator/… from elsewhere; made and revoked only here, on the host");
  storeOptions(token.command("add <name>").description("make an operator token; it is printed this once and stored only as its hash")).action(
    async (name: string, flags: StoreFlags) => {
      checkedName("token", name);
      const { addOperatorToken } = await import("../../access/operator-tokens.js");
      const made = await withStore(flags, async (store) => addOperatorToken(store.db, name, await operatorRecord(store, flags)));
      process.stdout.write(`operator token: ${made}\n(shown once; send it as "authorization: Bearer …" to /api/v1/operator/accounts)\n`);
    },
  );
  storeOptions(token.command("list").description("the operator tokens: name, who made it and when, and when it was revoked"))
    .option("--json", "print JSON")
    .action(async (flags: StoreFlags & { json?: boolean }) => {
      const { listOperatorTokens } = await import("../../access/store/operator-tokens.js");
      const rows = (await withStore(flags, (store) => listOperatorTokens(store.db))).map((t) => ({
        name: t.name,
        createdBy: t.created_by,
        createdAt: t.created_at,
        revokedAt: t.revoked_at,
      }));
      if (flags.json) return printJson(rows);
      if (rows.length === 0) return void process.stdout.write("no operator tokens; make one with: fernlink operator token add NAME --data DIR\n");
      printTable(
        ["NAME", "CREATED BY", "CREATED", "REVOKED"],
        rows.map((r) => [r.name, r.createdBy, r.createdAt, r.revokedAt ?? "-"]),
      );
    });
  storeOptions(token.command("revoke <name>").description("revoke an operator token at once")).action(async (name: string, flags: StoreFlags) => {
    checkedName("token", name);
    const { removeOperatorToken } = await import("../../access/operator-tokens.js");
    await withStore(flags, async (store) => removeOperatorToken(store.db, name, await operatorRecord(store, flags)));
    process.stdout.write(`operator token "${name}" revoked\n`);
  });
}
