// An esbuild plugin for the one-file builds: src/shared/version.ts reads package.json relative
// to its own module at run time, which a bundle in another folder (or with no package.json
// beside it) cannot; the bundle gets the version built in instead.

import { readFile } from "node:fs/promises";
import { join } from "node:path";

/** The plugin, for the package at `root`. */
export async function builtInVersion(root) {
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
