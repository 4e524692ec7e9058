import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

/**
 * `npx fernlink` in the project links it into a fresh npx cache and runs its `prepare` script
 * there; with a build in dist/ that must not compile again (it took 67 s, silently).
 */

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const CLI = join(ROOT, "dist", "cli.js");
let cache: string | undefined;

after(() => (cache ? rm(cache, { recursive: true, force: true }) : undefined));

test("npx fernlink runs the existing build without compiling it again", async () => {
  cache = await mkdtemp(join(tmpdir(), "fernlink-npx-cache-"));
  const before = (await stat(CLI)).mtimeMs;
  const started = Date.now();
  const { stdout } = await promisify(execFile)("npx", ["--yes", "fernlink", "--version"], {
    cwd: ROOT,
    // Offline, and a registry on a closed loopback port: npx must not need the network for this.
    env: {
      ...process.env,
      npm_config_cache: cache,
      npm_config_update_notifier: "false",
      npm_config_offline: "true",
      npm_config_registry: "http://127.0.0.1:9/",
    },
    timeout: 60_000,
  });
  const { version } = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as { version: string };
  assert.equal(stdout.trim(), version);
  assert.equal((await stat(CLI)).mtimeMs, before, "dist/cli.js was rebuilt");
  assert.ok(Date.now() - started < 30_000, `npx took ${Date.now() - started} ms`);
});
