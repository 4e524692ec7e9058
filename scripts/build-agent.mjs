// Bundles the agent's commands (agent register|run|switch, check) into one file,
// dist/fernlink-agent.mjs, for gateways that have Node 20 and nothing else: no node_modules, no
// build tree, no native module. Run by `npm run build` after tsc has type-checked the sources.

import { chmod } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { nodeBundleOptions } from "./bundle-options.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outfile = join(root, "dist", "fernlink-agent.mjs");

/** What must never reach the agent's file: the store and its drivers (better-sqlite3 is native). */
const FORBIDDEN = [/node_modules\/(better-sqlite3|pg|pg-[^/]+|kysely|bindings)\//, /\.node$/, /^src\/(access|server|web|relay)\//];

const result = await build({
  ...(await nodeBundleOptions(root)),
  entryPoints: ["src/agent-cli.ts"],
  outfile,
  // ws loads these native accelerators if present and works without them.
  external: ["bufferutil", "utf-8-validate"],
});

const forbidden = Object.keys(result.metafile.inputs).filter((input) => FORBIDDEN.some((re) => re.test(input)));
if (forbidden.length > 0) {
  console.error(
    `build-agent: the agent's file would need the server side or a native module:\n  ${forbidden.join("\n  ")}\nLoad it lazily from a command the agent's file does not have.`,
  );
  process.exit(1);
}
await chmod(outfile, 0o755);
const bytes = result.metafile.outputs["dist/fernlink-agent.mjs"]?.bytes ?? 0;
console.log(`build-agent: wrote dist/fernlink-agent.mjs (${(bytes / 1024).toFixed(0)} KiB, ${Object.keys(result.metafile.inputs).length} modules)`);
