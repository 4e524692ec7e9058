import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { FernlinkError } from "../protocol/errors.js";
import { LOCK_FILE, lockAgentState } from "./state-lock.js";

describe("lockAgentState", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "fernlink-lock-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("refuses a second agent on the same state while the first runs, and frees the state on release", async () => {
    const release = await lockAgentState(dir);
    const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"]);
    try {
      await assert.rejects(
        lockAgentState(dir, holder.pid),
        (err: unknown) => err instanceof FernlinkError && err.code === "conflict" && err.message.includes(`pid ${process.pid}`),
      );
    } finally {
      holder.kill();
    }
    await release();
    (await lockAgentState(dir))();
  });

  it("takes over a lock left by a process that no longer runs", async () => {
    const gone = spawn(process.execPath, ["-e", ""]);
    await once(gone, "exit");
    await writeFile(join(dir, LOCK_FILE), `${gone.pid}\n`);
    const release = await lockAgentState(dir);
    assert.equal((await readFile(join(dir, LOCK_FILE), "utf8")).trim(), String(process.pid));
    await release();
  });
});
