#!/usr/bin/env node
// The `fernlink` command (copied to dist/cli.js by scripts/build-cli.mjs). It runs the one-file
// CLI, dist/cli-bundle.cjs, through V8's code cache: Node 20 has no compile cache of its own,
// and compiling the 6 MB bundle on every start was a third of what `fernlink --version` cost
// (a gateway runs `agent` commands, the e2e suite runs thousands). The cache sits beside the
// bundle; a missing or rejected one (another Node version, other V8 flags) is made again
// after the run, written whole or not at all, and a folder that cannot be written only means
// no cache.
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import Module, { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Script } from "node:vm";

const dir = dirname(fileURLToPath(import.meta.url));
const bundle = join(dir, "cli-bundle.cjs");
const cacheFile = `${bundle}.cache`;
let cachedData;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  cachedData = undefined;
}
// The entry's #! line is kept by esbuild and is no JavaScript inside the wrapper (emptied, so line numbers stay).
// The build writes the bundle in ASCII only, so latin1 reads it as it is, into a one-byte string,
// without UTF-8 decoding: `fernlink --version` took 438 ms of CPU before, 372 ms since.
const source = readFileSync(bundle, "latin1").replace(/^#!.*/, "");
const script = new Script(Module.wrap(source), { filename: bundle, cachedData });
if (cachedData === undefined || script.cachedDataRejected) {
  process.once("exit", () => {
    const partial = `${cacheFile}.${process.pid}`;
    try {
      writeFileSync(partial, script.createCachedData());
      renameSync(partial, cacheFile);
    } catch {
      rmSync(partial, { force: true });
    }
  });
}
const module = { exports: {} };
script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dir);
