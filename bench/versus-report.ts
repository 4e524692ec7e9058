/**
 * The comparison's results: medians with their spread per path, the ratios the issue sets
 * as targets (met or missed, whatever the numbers are), as a text table for the terminal
 * and as the generated section of docs/PERFORMANCE.md.
 */

import { PATHS, type PathName } from "./paths.js";
import type { Report } from "./report.js";
import { table } from "./report.js";
import type { Metric, VersusReport } from "./versus.js";

/** What the result file holds under "versus". */
export type VersusResults = VersusReport & { machine: Report["machine"]; runSeconds: number; targets: TargetCheck[] };

export interface TargetCheck {
  target: string;
  /** The measured ratio or value, and the limit it is held against. */
  value: number;
  limit: string;
  met: boolean;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const med = (m: Metric | undefined, p: PathName): number => median(m?.values[p] ?? []);

/** The targets, from the medians of this run. */
export function checkTargets(r: VersusReport): TargetCheck[] {
  const m = r.metrics;
  const out: TargetCheck[] = [];
  const ratio = (key: string, over: PathName, target: string, atLeast: number | undefined, atMost: number | undefined): void => {
    const v = med(m[key], "fernlink") / med(m[key], over);
    if (!Number.isFinite(v)) return;
    const limit = atLeast !== undefined ? `≥ ${atLeast}×` : `≤ ${atMost}×`;
    out.push({ target, value: v, limit, met: atLeast !== undefined ? v >= atLeast : v <= atMost! });
  };
  const value = (key: string, target: string, max: number, unit: string): void => {
    const v = med(m[key], "fernlink");
    if (Number.isFinite(v)) out.push({ target, value: v, limit: `< ${max} ${unit}`, met: v < max });
  };
  ratio("bulkUp", "ssh", "bulk upload vs ssh -R", 1, undefined);
  ratio("bulkDown", "ssh", "bulk download vs ssh -R", 1, undefined);
  ratio("cpuPerGbUp", "ssh", "CPU per GB upload vs ssh -R", undefined, 1);
  ratio("cpuPerGbDown", "ssh", "CPU per GB download vs ssh -R", undefined, 1);
  for (const key of Object.keys(m).filter((k) => k.startsWith("wan"))) ratio(key, "direct", `${m[key]!.label} vs direct`, 0.9, undefined);
  ratio("rrp50", "ssh", "request/response p50 vs ssh -R", undefined, 1);
  ratio("rrp99", "ssh", "request/response p99 vs ssh -R", undefined, 1);
  value("rrp99.9", "request/response p99.9 on loopback", 2000, "µs");
  ratio("setup1", "ssh", "new streams/s, 1 loop, vs ssh -R", 3, undefined);
  ratio("setup8", "ssh", "new streams/s, 8 loops, vs ssh -R", 3, undefined);
  value("holP99", "ping-pong p99 beside a bulk stream", 5000, "µs");
  if (r.keepAlive)
    out.push({
      target: "keep-alive per idle device per day",
      value: r.keepAlive.wireBytesPerDay / 1000,
      limit: "≤ 700 KB",
      met: r.keepAlive.wireBytesPerDay <= 700_000,
    });
  return out;
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return "–";
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString("en-US");
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** "median (min–max)", or just the median for one repetition. */
function cell(xs: number[] | undefined): string {
  if (!xs || xs.length === 0) return "–";
  if (xs.length === 1) return fmt(xs[0]!);
  return `${fmt(median(xs))} (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})`;
}

const HEAD = ["scenario", "unit", "direct", "Fernlink", "ssh -R", "socat", "Fernlink / ssh -R"];

function rows(r: VersusReport): string[][] {
  return Object.values(r.metrics).map((m) => [m.label, m.unit, ...PATHS.map((p) => cell(m.values[p])), fmt(med(m, "fernlink") / med(m, "ssh"))]);
}

function targetRows(r: VersusResults): string[][] {
  return r.targets.map((t) => [t.target, fmt(t.value), t.limit, t.met ? "met" : "missed"]);
}

export function renderVersusText(r: VersusResults): string {
  const out = [`Fernlink vs ssh -R vs socat vs direct — ${r.repeat} run(s) of ${r.seconds} s per path, median (min–max)`, "", table(HEAD, rows(r)), ""];
  if (r.keepAlive) {
    const k = r.keepAlive;
    out.push(
      `keep-alive: idle agent tunnel ${k.wireBytes} B on the wire (${k.segments} segments) in ${k.windowSeconds.toFixed(0)} s ` +
        `= ${Math.round(k.wireBytesPerDay / 1000)} KB per day`,
      "",
    );
  }
  out.push(table(["target", "value", "limit", ""], targetRows(r)));
  for (const f of r.failures) out.push(`failed run, left out: ${f.path}: ${f.message.split("\n")[0]}`);
  return out.join("\n");
}

/** A markdown table from a head and rows. */
function mdTable(head: string[], body: string[][]): string {
  return [`| ${head.join(" | ")} |`, `|${head.map((_, i) => (i < 2 ? "---" : "---:")).join("|")}|`, ...body.map((b) => `| ${b.join(" | ")} |`)].join("\n");
}

/** The generated part of docs/PERFORMANCE.md. */
export function renderVersusMarkdown(r: VersusResults, svgs: string[]): string {
  const m = r.machine;
  const out = [
    `Run of ${m.date}: node ${m.node}, ${m.cpus} × ${m.cpuModel}, ${m.platform} ${m.kernel}, load average at start ${m.loadavgAtStart.join(" ")}; ` +
      `${r.repeat} repetition(s) of ${r.seconds} s per path and scenario, cells are median (min–max); the whole comparison took ${Math.round(r.runSeconds)} s.`,
    "",
    mdTable(HEAD, rows(r)),
    "",
  ];
  if (r.keepAlive) {
    const k = r.keepAlive;
    out.push(
      `Keep-alive: the idle device's tunnel carried ${k.payloadBytes} B of TCP payload in ${k.segments} segments (${k.wireBytes} B with IPv4/TCP headers) ` +
        `in ${k.windowSeconds.toFixed(0)} s, i.e. **${Math.round(k.wireBytesPerDay / 1000)} KB per day**.`,
      "",
    );
  }
  for (const f of r.failures) out.push(`- failed run, left out of the medians: ${f.path}: ${f.message.split("\n")[0]}`);
  if (r.failures.length) out.push("");
  out.push(
    "### Targets",
    "",
    mdTable(
      ["target", "Fernlink", "limit", "result"],
      targetRows(r).map((t) => [...t.slice(0, 3), t[3] === "met" ? "met" : "**missed**"]),
    ),
    "",
  );
  for (const svg of svgs) out.push(`![${svg}](bench/${svg})`, "");
  return out.join("\n");
}
