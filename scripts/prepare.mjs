// The `prepare` script: `npm ci` and `npm install` build the project once. `npx fernlink`
// links this directory into npm's npx cache and runs `prepare` there too; a build already in
// dist/ is what it should run, so it is used as it is instead of compiling for a minute
// (an interrupted compile there left that cache broken for every later npx).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

if (process.env["npm_command"] === "exec" && existsSync(join(root, "dist", "cli.js"))) process.exit(0);
const run = spawnSync(process.execPath, [join(root, "scripts", "build.mjs")], { cwd: root, stdio: "inherit" });
process.exit(run.status ?? 1);
