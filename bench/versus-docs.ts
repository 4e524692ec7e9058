/**
 * Runs the whole comparison (versus.ts on loopback, wan.ts across namespaces), checks the
 * targets and, for a full run, writes the plots (docs/bench/*.svg) and the generated section
 * of docs/PERFORMANCE.md between its two marker comments; the prose around them is kept.
 *
 *   node dist-test/bench/versus-docs.js [RESULTS]   re-renders plots and section from a result
 *                                                   file (default bench/results.json), no run
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { BenchConfig } from "./config.js";
import { machineInfo } from "./report.js";
import { QUANTILES } from "./shared.js";
import { barChart, percentilePlot } from "./svg.js";
import { runVersus, type VersusReport } from "./versus.js";
import { checkTargets, renderVersusMarkdown, type VersusResults } from "./versus-report.js";
import { cleanupWan, runWan } from "./wan.js";

const BEGIN = "<!-- bench:begin (written by npm run bench; edit the text outside these markers) -->";
const END = "<!-- bench:end -->";

export async function runComparison(config: BenchConfig, tmp: string): Promise<VersusResults> {
  const started = performance.now();
  const machine = machineInfo();
  const loopback = ["vs-bulk", "vs-parallel", "vs-hol", "vs-rr", "vs-setup", "keepalive"] as const;
  const report: VersusReport = loopback.some((s) => config.only.has(s))
    ? await runVersus(config, tmp)
    : { seconds: config.versusSeconds, repeat: config.repeat, metrics: {}, rttQuantilesUs: {}, holQuantilesUs: {}, failures: [] };
  if (config.only.has("wan")) {
    try {
      const wan = await runWan(config, tmp);
      Object.assign(report.metrics, wan.metrics);
      report.failures.push(...wan.failures);
    } finally {
      cleanupWan();
    }
  }
  const results: VersusResults = { ...report, machine, runSeconds: (performance.now() - started) / 1000, targets: [] };
  results.targets = checkTargets(results);
  if (config.docs) await writeDocs(results);
  return results;
}

export async function writeDocs(r: VersusResults): Promise<void> {
  const docs = new URL("../../docs/", import.meta.url);
  await mkdir(new URL("bench/", docs), { recursive: true });
  const svgs: string[] = [];
  const save = async (name: string, svg: string): Promise<void> => {
    await writeFile(new URL(`bench/${name}`, docs), svg);
    svgs.push(name);
  };
  const m = r.metrics;
  const groups = (keys: string[]): { label: string; values: (typeof m)[string]["values"] }[] =>
    keys.filter((k) => m[k]).map((k) => ({ label: shortLabel(k), values: m[k]!.values }));
  const loopbackBulk = groups(["bulkUp", "bulkDown", "parallel8", "parallel64", "holBulk"]);
  if (loopbackBulk.length) await save("throughput.svg", barChart("Throughput on loopback (median, whisker: min–max)", "Gbit/s", loopbackBulk));
  const wan = groups(Object.keys(m).filter((k) => k.startsWith("wan")));
  if (wan.length) await save("throughput-wan.svg", barChart("Throughput across the emulated WAN (median, whisker: min–max)", "Gbit/s", wan));
  const cpu = groups(["cpuPerGbUp", "cpuPerGbDown"]);
  if (cpu.length) await save("cpu-per-gb.svg", barChart("CPU seconds per GB carried, all processes of the path", "CPU s/GB", cpu));
  const setup = groups(["setup1", "setup8"]);
  if (setup.length) await save("stream-setup.svg", barChart("New streams per second (connect, 12 B round trip, close)", "streams/s", setup));
  if (Object.keys(r.rttQuantilesUs).length)
    await save("latency.svg", percentilePlot("12 B request/response round trip on loopback, by percentile", QUANTILES, r.rttQuantilesUs));
  if (Object.keys(r.holQuantilesUs).length)
    await save("latency-beside-bulk.svg", percentilePlot("12 B ping-pong beside one bulk download on the same path", QUANTILES, r.holQuantilesUs));

  const file = fileURLToPath(new URL("PERFORMANCE.md", docs));
  const text = await readFile(file, "utf8").catch(() => `# Performance\n\n${BEGIN}\n${END}\n`);
  const generated = `${BEGIN}\n${renderVersusMarkdown(r, svgs)}\n${END}`;
  const at = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  const next = at >= 0 && end > at ? text.slice(0, at) + generated + text.slice(end + END.length) : `${text.trimEnd()}\n\n${generated}\n`;
  await writeFile(file, next);
}

function shortLabel(key: string): string {
  const fixed: Record<string, string> = {
    bulkUp: "upload, 1 stream",
    bulkDown: "download, 1 stream",
    parallel8: "upload, 8 streams",
    parallel64: "upload, 64 streams",
    holBulk: "download beside ping-pong",
    cpuPerGbUp: "upload",
    cpuPerGbDown: "download",
    setup1: "1 loop",
    setup8: "8 loops",
  };
  const wan = key.match(/^wan(\d+)(Up|Down)$/);
  if (wan) return `${wan[1]} ms, ${wan[2] === "Up" ? "upload" : "download"}`;
  return fixed[key] ?? key;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2] ?? fileURLToPath(new URL("../../bench/results.json", import.meta.url));
  const saved = JSON.parse(await readFile(file, "utf8")) as { versus?: VersusResults };
  if (!saved.versus) throw new Error(`${file} holds no "versus" results`);
  await writeDocs(saved.versus);
}
