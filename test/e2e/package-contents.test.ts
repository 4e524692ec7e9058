import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** What a test run leaves in dist/ that no user needs: tests, their source maps, fixtures and test kits. */
const NOT_SHIPPED = /(\.test\.js|-fixture\.js|-test-kit\.js)(\.map)?$/;

/** Folders of the source tree that stay out: the sources, the tests and their build, the bench. */
const NOT_SHIPPED_FOLDERS = /^(src|test|dist-test|bench|scripts|test-artifacts)\//;

/** The paths `npm pack` would put in the package, without building (scripts off). */
async function packedPaths(): Promise<string[]> {
  const { stdout } = await promisify(execFile)("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
  const [pack] = JSON.parse(stdout) as { files: { path: string }[] }[];
  assert.ok(pack, "npm pack --json printed no package");
  return pack.files.map((file) => file.path);
}

describe("the published package", () => {
  it("holds the built CLI and no test, fixture or test kit", async () => {
    for (const built of ["dist/architecture.test.js", "dist/access/store/store-fixture.js"]) {
      assert.ok(existsSync(`${ROOT}${built}`), `${built} is not built, so its absence from the package would prove nothing: run npm run build`);
    }
    const paths = await packedPaths();
    assert.ok(paths.includes("dist/cli.js"), `dist/cli.js missing from the package (${paths.length} files)`);
    assert.ok(paths.includes("package.json"));
    const unwanted = paths.filter((path) => NOT_SHIPPED.test(path) || NOT_SHIPPED_FOLDERS.test(path));
    assert.deepEqual(unwanted, [], `${unwanted.length} test files in the package:\n  ${unwanted.join("\n  ")}`);
  });

  it("holds the one-file agent, the service units and their example configs, not the Containerfile", async () => {
    assert.ok(existsSync(`${ROOT}dist/fernlink-agent.mjs`), "dist/fernlink-agent.mjs is not built: run npm run build");
    const paths = await packedPaths();
    for (const shipped of [
      "dist/fernlink-agent.mjs",
      "packaging/systemd/fernlink-server.service",
      "packaging/systemd/fernlink-relay.service",
      "packaging/systemd/fernlink-agent.service",
      "packaging/config/server.toml",
      "packaging/config/relay.toml",
      "packaging/config/agent.toml",
      "LICENSE",
      "README.md",
    ]) {
      assert.ok(paths.includes(shipped), `${shipped} missing from the package`);
    }
    // The image is built from the source tree, which the package is not.
    assert.ok(!paths.includes("Containerfile"));
  });
});
