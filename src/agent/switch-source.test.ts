import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { UsageError } from "../protocol/errors.js";
import { parseSwitchSource, readSwitchFile, runSwitchCommand, splitCommand } from "./switch-source.js";

describe("switch source", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "fernlink-switch-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("defaults to the state directory's switch file, which may be absent", () => {
    assert.deepEqual(parseSwitchSource(undefined, "/var/lib/fernlink"), { kind: "file", path: "/var/lib/fernlink/switch", optional: true });
  });

  it("takes file:PATH as a file that must exist and command:CMD as words for a program", () => {
    assert.deepEqual(parseSwitchSource("file:/run/key", "/s"), { kind: "file", path: "/run/key", optional: false });
    assert.deepEqual(parseSwitchSource("command:/usr/bin/gpio read 'key switch'", "/s"), { kind: "command", argv: ["/usr/bin/gpio", "read", "key switch"] });
  });

  it("refuses other forms with a usage error", () => {
    for (const spec of ["", "file:", "command:", "command:   ", "/run/key", "http://x"]) assert.throws(() => parseSwitchSource(spec, "/s"), UsageError, spec);
  });

  it("splits a command without a shell: quotes group, backslashes escape, shell syntax is refused", () => {
    assert.deepEqual(splitCommand(`cat "/run/my switch" 'a b' c\\ d ""`), ["cat", "/run/my switch", "a b", "c d", ""]);
    for (const command of ["cat /run/key | tr a-z A-Z", "cat $(x)", "a; rm -rf /", "a && b", "cat `x`", "a > b", 'say "open'])
      assert.throws(() => splitCommand(command), UsageError, command);
  });

  it("reads a switch file; a missing optional file is remote, a missing required one is a problem", async () => {
    const path = join(dir, "switch");
    await writeFile(path, "online\n");
    assert.deepEqual(await readSwitchFile(path, false), { state: "online" });
    assert.deepEqual(await readSwitchFile(join(dir, "absent"), true), { state: "remote" });
    const missing = await readSwitchFile(join(dir, "absent"), false);
    assert.ok("problem" in missing && /ENOENT/.test(missing.problem));
    await writeFile(path, "maybe");
    const garbled = await readSwitchFile(path, true);
    assert.ok("problem" in garbled && /"maybe"/.test(garbled.problem));
  });

  it("runs a switch command and reads what it prints", async () => {
    assert.deepEqual(await runSwitchCommand(["echo", "remote"]), { state: "remote" });
  });

  it("passes the command's words as they are, never through a shell", async () => {
    const reading = await runSwitchCommand(["echo", "$(echo remote)"]);
    assert.ok("problem" in reading && reading.problem.includes("$(echo remote)"));
  });

  it("gives the command no input and none of Fernlink's own variables", async () => {
    process.env["FERNLINK_TEST_SECRET"] = "remote";
    try {
      const cat = await runSwitchCommand(["cat"], 2_000);
      assert.ok("problem" in cat && /says ""/.test(cat.problem), `cat should read an empty input at once: ${JSON.stringify(cat)}`);
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, for sh to expand
      const env = await runSwitchCommand(["sh", "-c", 'printf "%s" "${FERNLINK_TEST_SECRET:-off}"']);
      assert.deepEqual(env, { state: "off" });
    } finally {
      delete process.env["FERNLINK_TEST_SECRET"];
    }
  });

  it("fails a command that exits non-zero, is missing, or runs too long", async () => {
    const failed = await runSwitchCommand(["false"]);
    assert.ok("problem" in failed && /exit status 1/.test(failed.problem));
    const missing = await runSwitchCommand([join(dir, "no-such-program")]);
    assert.ok("problem" in missing && /ENOENT/.test(missing.problem));
    const started = Date.now();
    const slow = await runSwitchCommand(["sleep", "5"], 200);
    assert.ok("problem" in slow && /timed out after 200 ms/.test(slow.problem));
    assert.ok(Date.now() - started < 2000);
  });
});
