import type { Command } from "commander";
import { z } from "zod";
import { apiClient } from "../../client/api-client.js";
import { ROUTES } from "../../protocol/api.js";
import { ConnectionRecord } from "../../protocol/api-audit.js";
import { isoSeconds } from "../../shared/format.js";
import { connectionsCsv } from "../../shared/report-csv.js";
import { fetchPages, listingFormat, parseLimit, parseSince } from "../listing.js";
import { printJson, printTable } from "../output.js";

/** A duration as people read it: `42s`, `3m07s`, `2h05m00s`. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  const [h, m, sec] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const pad = (n: number): string => String(n).padStart(2, "0");
  return h > 0 ? `${h}h${pad(m)}m${pad(sec)}s` : m > 0 ? `${m}m${pad(sec)}s` : `${sec}s`;
}

async function connections(flags: { since?: string; limit?: string; json?: boolean; csv?: boolean }): Promise<void> {
  const format = listingFormat(flags);
  const since = parseSince(flags.since);
  const limit = parseLimit(flags.limit);
  const api = await apiClient();
  const rows = await fetchPages((q) => api.call("GET", `${ROUTES.connectionsReport}?${q}`, z.array(ConnectionRecord)), { since }, limit);
  if (format === "json") return printJson(rows);
  if (format === "csv") {
    process.stdout.write(connectionsCsv(rows));
    return;
  }
  printTable(
    ["USER", "DEVICE", "TARGET", "START", "DURATION", "UP", "DOWN", "REASON", "NOTE"],
    rows.map((r) => [
      r.user ?? "-",
      r.device ?? "",
      r.target ?? "",
      isoSeconds(r.start),
      formatDuration(r.durationMs),
      String(r.bytesUp),
      String(r.bytesDown),
      r.reason ?? "",
      r.note ?? "",
    ]),
  );
}

/** `fernlink report connections [--since ISO] [--limit N] [--json|--csv]`. */
export function registerReportCommands(program: Command): void {
  const report = program.command("report").description("reports built from the audit; admins only");
  report
    .command("connections")
    .description("finished streams, newest first: who, device, target, start, duration, bytes up/down")
    .option("--since <iso>", "only streams still open at or after this time (ISO 8601)")
    .option("--limit <n>", "at most this many streams (default: all)")
    .option("--json", "print JSON")
    .option("--csv", "print CSV (RFC 4180; formula-like cells are prefixed with ')")
    .action(connections);
}
