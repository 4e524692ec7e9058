import type { Command } from "commander";
import { z } from "zod";
import { apiClient } from "../../client/api-client.js";
import { AuditRecord, NameSchema, ROUTES } from "../../protocol/api.js";
import { AuditVerification } from "../../protocol/api-audit.js";
import { UsageError } from "../../protocol/errors.js";
import { isoSeconds } from "../../shared/format.js";
import { auditCsv } from "../../shared/report-csv.js";
import { fetchPages, listingFormat, parseLimit, parseSince } from "../listing.js";
import { printJson, printTable } from "../output.js";
import { withStore } from "../store-access.js";

/** `audit verify` found the chain broken: the CLI prints the message and exits 1. */
export class AuditChainBrokenError extends Error {
  override readonly name = "AuditChainBrokenError";
  readonly code = "audit-chain-broken";
}

function short(iso: string | null): string {
  return iso ? isoSeconds(iso) : "";
}

/** Who acted, with the API token it used if any: `alice (token ci-deploy)`. */
function actorOf(r: AuditRecord): string {
  const actor = r.actor ?? "-";
  return r.token === null ? actor : `${actor} (token ${r.token})`;
}

function name(flag: string, value: string | undefined): string | undefined {
  if (value !== undefined && !NameSchema.safeParse(value).success) throw new UsageError(`${flag} "${value}" is not a valid name`);
  return value;
}

interface ListFlags {
  system?: boolean;
  data?: string;
  db?: string;
  since?: string;
  user?: string;
  device?: string;
  limit: string;
  json?: boolean;
  csv?: boolean;
}

async function list(flags: ListFlags): Promise<void> {
  const format = listingFormat(flags);
  const query = { since: parseSince(flags.since), user: name("--user", flags.user), device: name("--device", flags.device) };
  const limit = parseLimit(flags.limit);
  if (!flags.system && (flags.data !== undefined || flags.db !== undefined))
    throw new UsageError("--data and --db go with --system; the account's audit comes from the server you are logged in to");
  const records = flags.system ? await systemRecords(flags, query, limit) : await accountRecords(query, limit);
  if (format === "json") return printJson(records);
  if (format === "csv") {
    process.stdout.write(auditCsv(records));
    return;
  }
  printTable(
    ["SEQ", "TIME", "ACTOR", "SOURCE", "ACTION", "OBJECT", "RESULT", "DEVICE", "TARGET", "UP", "DOWN", "REASON"],
    records.map((r) => [
      String(r.seq),
      short(r.at),
      actorOf(r),
      r.source ?? "",
      r.action,
      r.object ?? "",
      r.result,
      r.device ?? "",
      r.target ?? "",
      r.bytesUp === null ? "" : String(r.bytesUp),
      r.bytesDown === null ? "" : String(r.bytesDown),
      r.count === undefined ? (r.reason ?? "") : `${r.count}× ${r.reason ?? ""}`,
    ]),
  );
  if (hasSeqGaps(records)) process.stderr.write(`fernlink: ${SEQ_GAPS}\n`);
}

const SEQ_GAPS =
  "SEQ numbers every record of the chain in order; the gaps above are records this listing's filters leave out, " +
  "not deleted ones (fernlink audit verify proves none is missing)";

/** True when the newest-first records skip numbers of their chain. */
export function hasSeqGaps(records: readonly { seq: number }[]): boolean {
  return records.some((r, i) => i > 0 && records[i - 1]!.seq - r.seq > 1);
}

async function accountRecords(query: Record<string, string | undefined>, limit: number | undefined): Promise<AuditRecord[]> {
  const api = await apiClient();
  return fetchPages((q) => api.call("GET", `${ROUTES.audit}?${q}`, z.array(AuditRecord)), query, limit);
}

/** The server's own chain, read from its store on its machine: refusals that name no account. */
async function systemRecords(
  flags: ListFlags,
  query: { since?: string | undefined; user?: string | undefined; device?: string | undefined },
  limit: number | undefined,
): Promise<AuditRecord[]> {
  if (flags.data === undefined)
    throw new UsageError("--system reads the server's own store: give --data DIR (and --db URL for PostgreSQL) on the server's machine");
  const { listAudit } = await import("../../access/store/audit.js");
  const { toAuditRecord } = await import("../../access/audit-log.js");
  const { SYSTEM_CHAIN } = await import("../../access/audit-chain.js");
  const filter = { limit: limit ?? Number.MAX_SAFE_INTEGER, since: query.since, actor: query.user, device: query.device };
  const rows = await withStore({ data: flags.data, ...(flags.db ? { db: flags.db } : {}) }, (store) => listAudit(store.db, SYSTEM_CHAIN, filter));
  return rows.map(toAuditRecord);
}

async function verify(flags: { json?: boolean; expectHead?: string }): Promise<void> {
  const expect = flags.expectHead;
  if (expect !== undefined && !/^\d+:[0-9a-f]{64}$/.test(expect)) {
    throw new UsageError(`--expect-head "${expect}" must be SEQ:HASH as a previous \`fernlink audit verify\` printed it`);
  }
  const api = await apiClient();
  const path = `${ROUTES.auditVerify}${expect ? `?${new URLSearchParams({ expectHead: expect })}` : ""}`;
  const v = await api.call("GET", path, AuditVerification);
  if (flags.json) printJson(v);
  if (v.problem) {
    throw new AuditChainBrokenError(
      `the audit chain of account "${v.account}" is broken: ${v.problem.message} (${v.records} earlier records verify); ` +
        `compare the database with a backup and find out who changed it`,
    );
  }
  if (flags.json) return;
  const lines = [`audit chain of account "${v.account}": OK, ${v.records} records verified`];
  if (v.head) {
    lines.push(`head: seq ${v.head.seq} hash ${v.head.hash}`);
    lines.push(`keep this head elsewhere; later, \`fernlink audit verify --expect-head ${v.head.seq}:${v.head.hash}\` proves no record up to it was removed`);
  }
  if (v.unchained > 0) lines.push(`note: ${v.unchained} older records were written before the audit was chained and are not protected`);
  process.stdout.write(`${lines.join("\n")}\n`);
}

/** `fernlink audit [--since ISO] [--user U] [--device D] [--limit N] [--json|--csv]` and `audit verify`. */
export function registerAuditCommand(program: Command): void {
  const audit = program
    .command("audit")
    .description(
      "show the account's audit records (logins, changes, streams, refusals), newest first; admins only. " +
        "SEQ numbers each account's chain on its own, 1, 2, 3 …; a filtered listing skips numbers. " +
        "Refusals that name no account (an activation key that never existed, a login to an unknown account) are in the server's system chain: " +
        "the operator reads them with --system --data DIR on the server's machine",
    )
    .option("--since <iso>", "only records written at or after this time (ISO 8601)")
    .option("--user <name>", "only records of this user")
    .option("--device <name>", "only records of this device")
    .option("--limit <n>", "at most this many records", "50")
    .option("--json", "print JSON")
    .option("--csv", "print CSV (RFC 4180; formula-like cells are prefixed with ')")
    .option("--system", "the server's system chain instead of the account's, read from its store (with --data, on the server's machine)")
    .option("--data <dir>", "with --system: the server's data directory")
    .option("--db <url>", "with --system: postgres://… of the server (default: the SQLite database in --data, or FERNLINK_DB)")
    .action(list);

  audit
    .command("verify")
    .summary("recompute the account's audit hash chain and name the first broken record")
    .description(
      "recompute the account's audit hash chain and name the first altered, missing, inserted or reordered record (exit 1 when broken). " +
        "It prints the chain's head: keep it elsewhere, because removing the newest records together with the head row is only detectable " +
        "against a head kept outside the database",
    )
    .option("--expect-head <seq:hash>", "a head printed by an earlier run that must still be in the chain")
    .option("--json", "print JSON")
    // Commander hands `audit verify --json` to the parent's --json: read both.
    .action((_flags: unknown, cmd: Command) => verify(cmd.optsWithGlobals<{ json?: boolean; expectHead?: string }>()));
}
