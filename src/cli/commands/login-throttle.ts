import { userInfo } from "node:os";
import { resolve } from "node:path";
import type { Command } from "commander";
import { clearLoginThrottle, listLoginThrottle } from "../../access/login-throttle.js";
import { openServerKeys } from "../../access/shared-keys.js";
import { createLogger } from "../../shared/log.js";
import { printJson, printTable } from "../output.js";
import { type StoreFlags, storeOptions, withStore } from "../store-access.js";

const log = createLogger("login-throttle");

/** `fernlink login-throttle list|clear`: the operator's view of source addresses refused after failed logins. */
export function registerLoginThrottleCommands(program: Command): void {
  const throttle = program
    .command("login-throttle")
    .description("source addresses refused after 10 failed logins in 15 minutes (operators; a plant's NAT puts all its users on one address)");
  storeOptions(throttle.command("list").description("sources with failed logins in the last 15 minutes"))
    .option("--json", "print JSON")
    .action(async (flags: StoreFlags & { json?: boolean }) => {
      const rows = await withStore(flags, (store) => listLoginThrottle(store.db, new Date()));
      if (flags.json) return printJson(rows);
      if (rows.length === 0) return void process.stdout.write("no failed logins in the last 15 minutes\n");
      printTable(
        ["SOURCE", "FAILURES", "THROTTLED", "LAST"],
        rows.map((r) => [r.source, String(r.failures), r.throttled ? "yes" : "no", r.last]),
      );
    });
  storeOptions(
    throttle.command("clear [source]").description("forget the failed logins of SOURCE (or of every source), so it may log in again at once"),
  ).action(async (source: string | undefined, flags: StoreFlags) => {
    const result = await withStore(flags, async (store) => {
      const { auditKey } = await openServerKeys({
        dataDir: resolve(flags.data),
        store,
        clusterKeyFile: process.env["FERNLINK_CLUSTER_KEY"],
        log,
        now: new Date(),
      });
      return clearLoginThrottle(store.db, source, { auditKey, operator: `${userInfo().username} (operator)`, now: new Date() });
    });
    const who = result.source === undefined ? "every source" : result.source;
    process.stdout.write(`cleared ${result.cleared} failed login(s) of ${who}; users locked by their own failures stay locked (fernlink user unlock)\n`);
  });
}
