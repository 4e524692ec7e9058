// `npm run build`: the compile steps one after another, each announced with one short line and
// its time, so the two silent minutes of `npm ci` say what they are doing.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");

const STEPS = [
  ["the server, agent and CLI (src → dist)", [tsc, "-p", "tsconfig.json"]],
  ["type-checking the web portal", [tsc, "-p", "src/web/ui/tsconfig.json"]],
  ["bundling the web portal (dist/web)", [join(root, "scripts", "build-ui.mjs")]],
  ["bundling the one-file agent (dist/fernlink-agent.mjs)", [join(root, "scripts", "build-agent.mjs")]],
  ["bundling the CLI (dist/cli.js)", [join(root, "scripts", "build-cli.mjs")]],
  ["the tests and the bench (dist-test)", [tsc, "-p", "test/tsconfig.json"]],
];

const started = Date.now();
for (const [index, [what, args]] of STEPS.entries()) {
  const stepStarted = Date.now();
  process.stdout.write(`build ${index + 1}/${STEPS.length}: ${what} …\n`);
  const run = spawnSync(process.execPath, args, { cwd: root, stdio: "inherit" });
  if (run.status !== 0) {
    process.stderr.write(`build ${index + 1}/${STEPS.length} failed: ${what}\n`);
    process.exit(run.status ?? 1);
  }
  process.stdout.write(`build ${index + 1}/${STEPS.length}: done in ${((Date.now() - stepStarted) / 1000).toFixed(0)} s\n`);
}
process.stdout.write(
  `build: done in ${((Date.now() - started) / 1000).toFixed(0)} s; run it with: node dist/cli.js (or put fernlink on PATH with: npm link)\n`,
);
