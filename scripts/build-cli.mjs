// Bundles the CLI into one file, dist/cli-bundle.cjs, after tsc has compiled and type-checked
// every module into dist/, and puts the loader that runs it through V8's code cache
// (scripts/cli-loader.mjs) at dist/cli.js, the package's bin. Every `fernlink` command used to
// load about a thousand files (0.45 s of CPU for `fernlink --version`); one file halves that,
// which users feel on a small gateway and the e2e suite feels in its thousands of CLI runs. The
// modules stay in dist/ for the tests that load them in-process, with tsc's own entry kept as
// dist/cli-modules.js. CommonJS, because only a classic script can be given a code cache.

import { spawnSync } from "node:child_process";
import { chmod, copyFile, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { nodeBundleOptions } from "./bundle-options.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const entry = join(root, "dist", "cli.js");
const outfile = join(root, "dist", "cli-bundle.cjs");

// Run twice without tsc in between, dist/cli.js is already the loader: keep tsc's entry that was saved.
if (!(await readFile(entry, "utf8")).includes("cli-bundle.cjs")) await copyFile(entry, join(root, "dist", "cli-modules.js"));
const options = await nodeBundleOptions(root);
const result = await build({
  ...options,
  format: "cjs",
  // The loader runs the bundle as a script: no #! line, and import.meta.url is the bundle's own URL.
  banner: { js: 'const fernlinkBundleUrl = require("node:url").pathToFileURL(__filename).href;' },
  define: { "import.meta.url": "fernlinkBundleUrl" },
  entryPoints: ["src/cli.ts"],
  outfile,
  // better-sqlite3 is a native addon found through its own package at run time; pg-native,
  // bufferutil and utf-8-validate are optional accelerators that pg and ws work without.
  external: ["better-sqlite3", "pg-native", "bufferutil", "utf-8-validate"],
});
// esbuild escapes what is not ASCII in strings, regular expressions and names (its default
// charset) but keeps comments as written: escaped there too, the bundle is ASCII only, which
// the loader relies on to read it as latin1.
const written = await readFile(outfile, "utf8");
const ascii = written.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
if (ascii !== written) await writeFile(outfile, ascii);
await copyFile(join(root, "scripts", "cli-loader.mjs"), entry);
await chmod(entry, 0o755);
// The first run writes the code cache; a stale one from an earlier build would be rejected anyway.
await rm(`${outfile}.cache`, { force: true });
const warm = spawnSync(process.execPath, [entry, "--version"], { cwd: root, encoding: "utf8" });
if (warm.status !== 0) throw new Error(`dist/cli.js --version failed:\n${warm.stderr}`);
const bytes = result.metafile.outputs["dist/cli-bundle.cjs"]?.bytes ?? 0;
console.log(
  `build-cli: wrote dist/cli-bundle.cjs (${(bytes / 1024).toFixed(0)} KiB, ${Object.keys(result.metafile.inputs).length} modules) and its loader dist/cli.js`,
);
