// Bundles the CLI into one module, dist/cli.js (the package's bin), after tsc has compiled and
// type-checked every module into dist/. Every `fernlink` command used to load about a thousand
// files (0.45 s of CPU for `fernlink --version`); one file halves that, which users feel on a
// small gateway and the e2e suite feels in its thousands of CLI runs. The modules stay in dist/
// for the tests that load them in-process, with tsc's own entry kept as dist/cli-modules.js.

import { chmod, copyFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { nodeBundleOptions } from "./bundle-options.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outfile = join(root, "dist", "cli.js");

await copyFile(outfile, join(root, "dist", "cli-modules.js"));
const result = await build({
  ...(await nodeBundleOptions(root)),
  entryPoints: ["src/cli.ts"],
  outfile,
  allowOverwrite: true,
  // better-sqlite3 is a native addon found through its own package at run time; pg-native,
  // bufferutil and utf-8-validate are optional accelerators that pg and ws work without.
  external: ["better-sqlite3", "pg-native", "bufferutil", "utf-8-validate"],
});
await chmod(outfile, 0o755);
const bytes = result.metafile.outputs["dist/cli.js"]?.bytes ?? 0;
console.log(`build-cli: wrote dist/cli.js (${(bytes / 1024).toFixed(0)} KiB, ${Object.keys(result.metafile.inputs).length} modules)`);
