// What the one-file builds (scripts/build-cli.mjs, scripts/build-agent.mjs) share: an ES module
// for Node 20, with require() for the CommonJS packages inside, and the version built in.

import { readFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * An esbuild plugin: src/shared/version.ts reads package.json relative to its own module at run
 * time, which a bundle in another folder (or with no package.json beside it) cannot; the bundle
 * gets the version built in instead.
 */
async function builtInVersion(root) {
  const { version } = JSON.parse(await readFile(join(root, "package.json"), "utf8"));
  return {
    name: "built-in-version",
    setup(b) {
      b.onLoad({ filter: /[\\/]src[\\/]shared[\\/]version\.ts$/ }, () => ({
        contents: `/** The package version, built in. */\nexport const VERSION: string = ${JSON.stringify(version)};\n`,
        loader: "ts",
      }));
    },
  };
}

/** esbuild options of a one-file build of the package at `root`; add entryPoints, outfile and external. */
export async function nodeBundleOptions(root) {
  return {
    absWorkingDir: root,
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    // CommonJS packages in the bundle call require() for Node's own modules.
    banner: { js: 'import { createRequire as fernlinkRequire } from "node:module";\nconst require = fernlinkRequire(import.meta.url);' },
    tsconfig: "tsconfig.json",
    legalComments: "eof",
    sourcemap: false,
    metafile: true,
    plugins: [await builtInVersion(root)],
    logLevel: "warning",
  };
}
