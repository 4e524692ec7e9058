import assert from "node:assert/strict";
import { mkdir, readFile } from "node:fs/promises";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { freePort } from "../../src/shared/free-ports-test-kit.js";
import { Sandbox } from "./helpers/processes.js";
import { fernlinkOnPath, runShell, type ShellOptions, ShellProc } from "./helpers/shell.js";

/**
 * The README's quick start, run as written: its shell blocks are read from README.md, so the
 * README cannot drift from what works. Each block runs in its own bash (a terminal of its
 * own: nothing exported in one block reaches another), with `fernlink` on PATH as `npm link`
 * puts it there and no FERNLINK_* variable from outside. Only the fixed ports are swapped for
 * free ones, so the test does not collide with a server already running on this machine.
 */

const README = fileURLToPath(new URL("../../../README.md", import.meta.url));
const SECTION = "## Five minutes from zero to a machine, on one computer";

interface Block {
  /** The block's first line, e.g. "terminal 1: the server … (keeps running)". */
  title: string;
  script: string;
  keepsRunning: boolean;
  /** The `#  → …` lines: what the block prints, in order; "…" stands for anything. */
  expected: RegExp[];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The shell blocks of the quick start section, in order. */
export function quickstartBlocks(readme: string): Block[] {
  const start = readme.indexOf(SECTION);
  assert.ok(start >= 0, `README.md has no section "${SECTION}"`);
  const end = readme.indexOf("\n## ", start + SECTION.length);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map(([, body = ""]) => {
    const lines = body.trimEnd().split("\n");
    const title = (lines[0] ?? "").replace(/^#\s*/, "");
    const expected = lines.filter((l) => l.startsWith("#  → ")).map((l) => new RegExp(`^${l.slice("#  → ".length).split("…").map(escapeRegExp).join(".*")}$`));
    return { title, script: body, keepsRunning: /\(keeps running\)/.test(title), expected };
  });
}

let sb: Sandbox;
let options: ShellOptions;
const running: ShellProc[] = [];

before(async () => {
  sb = await Sandbox.create("readme");
  await mkdir(sb.path("home"));
  options = {
    cwd: sb.dir,
    bin: await fernlinkOnPath(sb),
    home: sb.path("unused"),
    // The README's own exports must be enough; the session goes to the default ~/.config/fernlink.
    env: { FERNLINK_PASSWORD: undefined, FERNLINK_HOME: undefined, HOME: sb.path("home") },
  };
});

after(async () => {
  await Promise.all(running.map((p) => p.stop()));
  await sb?.cleanup();
});

test("the README's quick start, pasted block by block into fresh terminals, reaches the demo machine through the tunnel", async () => {
  const blocks = quickstartBlocks(await readFile(README, "utf8"));
  assert.ok(blocks.length >= 5, `expected the quick start's blocks, found ${blocks.length}`);
  const ports = new Map<string, number>();
  for (const fixed of ["8443", "18080", "15020"]) ports.set(fixed, await freePort());
  const withPorts = (text: string): string => text.replace(/\b(8443|18080|15020)\b/g, (p) => String(ports.get(p)));
  for (const block of blocks) {
    let script = withPorts(block.script);
    // The server's default port is 8443; here it listens where the swapped URLs point.
    script = script.replace(/^(fernlink server(?!.*--listen).*)$/m, `$1 --listen 127.0.0.1:${ports.get("8443")}`);
    const expected = block.expected.map((re) => new RegExp(withPorts(re.source)));
    if (block.keepsRunning) {
      const proc = new ShellProc(script, options);
      running.push(proc);
      for (const line of expected) await proc.waitFor(line);
    } else {
      const result = await runShell(script, options);
      const output = `${result.stdout}${result.stderr}`;
      assert.equal(result.code, 0, `"${block.title}" failed:\n${output}`);
      let from = 0;
      const lines = output.split("\n");
      for (const line of expected) {
        const at = lines.findIndex((l, i) => i >= from && line.test(l));
        assert.ok(at >= 0, `"${block.title}" did not print ${line} (in order):\n${output}`);
        from = at + 1;
      }
    }
  }
});
