/**
 * HTTP/2 window sweep: runs the bench against patched COPIES of dist/ (src/ stays
 * untouched), one per stream/connection window pair, and prints throughput and latency
 * per variant. `npm run build && node dist-test/bench/window-sweep.js`.
 *
 *   SWEEP_WINDOWS   e.g. "64K/64K,256K/1M,1M/4M,4M/16M" (stream/connection)
 *   plus every BENCH_* variable (default here: BENCH_ONLY=bulk,parallel,rtt BENCH_REPEAT=2)
 */
import { spawn } from "node:child_process";
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cpuPerUnit, type Report } from "./report.js";

const root = fileURLToPath(new URL("../../", import.meta.url));

function bytes(s: string): number {
  const m = /^(\d+)([KM]?)$/i.exec(s.trim());
  if (!m) throw new Error(`SWEEP_WINDOWS: "${s}" is not a size like 64K or 4M`);
  const k = m[2]!.toUpperCase();
  // "64K" means the HTTP/2 default of 65535, which a window cannot exceed without a SETTINGS change anyway.
  const n = Number(m[1]) * (k === "K" ? 1024 : k === "M" ? 1024 * 1024 : 1);
  return n === 65536 ? 65535 : n;
}

/** Copies dist/ with the windows patched into protocol/tunnel-settings.js; returns the copy's unbundled CLI entry. */
async function variant(dir: string, stream: number, connection: number): Promise<string> {
  await cp(join(root, "dist"), join(dir, "dist"), { recursive: true });
  await cp(join(root, "package.json"), join(dir, "package.json")); // "type": "module"
  await symlink(join(root, "node_modules"), join(dir, "node_modules"));
  const file = join(dir, "dist/protocol/tunnel-settings.js");
  const src = await readFile(file, "utf8");
  const patched = src
    .replace(/streamWindowBytes:\s*[^,]+,/, `streamWindowBytes: ${stream},`)
    .replace(/connectionWindowBytes:\s*[^,]+,/, `connectionWindowBytes: ${connection},`);
  if (patched === src || !patched.includes(`streamWindowBytes: ${stream},`)) throw new Error(`could not patch ${file}: its shape changed`);
  await writeFile(file, patched);
  // dist/cli.js is one bundle that holds its own copy of the settings; this entry loads the modules.
  return join(dir, "dist/cli-modules.js");
}

function runBench(env: NodeJS.ProcessEnv): Promise<void> {
  const child = spawn(process.execPath, [fileURLToPath(new URL("./run.js", import.meta.url))], { env, stdio: ["ignore", "ignore", "inherit"] });
  return new Promise((resolve, reject) => child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`bench exited with ${code}`)))));
}

async function main(): Promise<void> {
  const pairs = (process.env["SWEEP_WINDOWS"] ?? "64K/64K,256K/1M,1M/4M,4M/16M,16M/64M").split(",").map((p) => p.split("/"));
  const tmp = await mkdtemp(join(tmpdir(), "fernlink-sweep-"));
  const results: { name: string; report: Report | undefined }[] = [];
  try {
    for (const [s, c] of pairs) {
      const name = `${s}/${c}`;
      const dir = await mkdtemp(join(tmp, "v-"));
      const cli = await variant(dir, bytes(s!), bytes(c ?? s!));
      const out = join(dir, "results.json");
      process.stderr.write(`\n=== windows stream/connection ${name}\n`);
      const env = { BENCH_ONLY: "bulk,parallel,rtt", BENCH_REPEAT: "2", ...process.env, BENCH_CLI: cli, BENCH_OUT: out };
      // A variant that stalls or fails is a result too: keep going with the others.
      const report = await runBench(env).then(
        async () => JSON.parse(await readFile(out, "utf8")) as Report,
        (err: unknown) => void process.stderr.write(`variant ${name} failed: ${String(err)}\n`),
      );
      results.push({ name, report: report ?? undefined });
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  // Rows: metrics; columns: tunnel value per window pair (direct is unaffected by windows).
  // Fernlink CPU per unit is added because rates swing with other load on a shared machine.
  const first = results.find((r) => r.report)?.report;
  const scenarios = [...new Set(first?.runs.map((x) => x.scenario) ?? [])];
  const metrics = [...(first?.rows.map((r) => `${r.metric} [${r.unit}]`) ?? []), ...scenarios.map((sc) => `fernlink CPU per unit: ${sc}`)];
  const cell = (rep: Report | undefined, i: number): string => {
    const rows = rep?.rows.length ?? 0;
    const sc = scenarios[i - rows];
    const v =
      i < rows
        ? rep?.rows[i]?.tunnel
        : sc && rep
          ? cpuPerUnit(
              rep.runs.filter((x) => x.scenario === sc && x.path === "tunnel"),
              ["client", "server", "agent"],
            )
          : undefined;
    return v === undefined ? "failed" : v >= 100 ? Math.round(v).toString() : v.toFixed(2);
  };
  const width = Math.max(...metrics.map((m) => m.length));
  const head = ["tunnel, windows stream/conn".padEnd(width), ...results.map((r) => r.name.padStart(10))].join("  ");
  const body = metrics.map((m, i) => [m.padEnd(width), ...results.map((r) => cell(r.report, i).padStart(10))].join("  "));
  process.stdout.write(`\n${head}\n${body.join("\n")}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`sweep failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
