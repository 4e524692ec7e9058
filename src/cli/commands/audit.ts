import type { Command } from "commander";
import { z } from "zod";
import { AuditRecord, ROUTES } from "../../protocol/api.js";
import { UsageError } from "../../shared/errors.js";
import { isoSeconds } from "../../shared/format.js";
import { apiClient } from "../../client/api-client.js";
import { printJson, printTable } from "../output.js";

function short(iso: string | null): string {
  return iso ? isoSeconds(iso) : "";
}

function bytes(n: number | null): string {
  return n === null ? "" : String(n);
}

/** `fernlink audit`: the latest audit records of the account. */
export function registerAuditCommand(program: Command): void {
  program
    .command("audit")
    .description("show the latest audit records (logins, changes, streams, refusals)")
    .option("--limit <n>", "how many records", "50")
    .option("--json", "print JSON")
    .action(async (flags: { limit: string; json?: boolean }) => {
      const limit = Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit "${flags.limit}" must be a positive whole number`);
      const api = await apiClient();
      const records = await api.call("GET", `${ROUTES.audit}?limit=${limit}`, z.array(AuditRecord));
      if (flags.json) return printJson(records);
      printTable(
        ["TIME", "ACTOR", "ACTION", "RESULT", "DEVICE", "TARGET", "END", "UP", "DOWN", "REASON"],
        records.map((r) => [short(r.at), r.actor ?? "-", r.action, r.result, r.device ?? "", r.target ?? "", short(r.endedAt), bytes(r.bytesUp), bytes(r.bytesDown), r.reason ?? ""]),
      );
    });
}
