import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { FernlinkError } from "../protocol/errors.js";

/** The lock file `agent run` holds in its state directory while it runs. */
export const LOCK_FILE = "agent.lock";

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Takes the state directory for this process: a second `agent run` on the same directory would
 * knock the first one's tunnel off every second (both hold the same certificate). A lock left by
 * a process that no longer runs is taken over. Returns the release function.
 */
export async function lockAgentState(dir: string, pid = process.pid): Promise<() => Promise<void>> {
  const path = join(dir, LOCK_FILE);
  for (let tries = 0; tries < 2; tries++) {
    try {
      await writeFile(path, `${pid}\n`, { flag: "wx", mode: 0o600 });
      return () => rm(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const holder = Number((await readFile(path, "utf8").catch(() => "")).trim());
    if (Number.isInteger(holder) && holder > 0 && holder !== pid && running(holder)) {
      throw new FernlinkError(
        "conflict",
        `another agent (pid ${holder}) already runs on state "${dir}"; stop it first, or register a second device with its own key and --state`,
      );
    }
    await rm(path, { force: true });
  }
  throw new FernlinkError("conflict", `cannot take the lock ${path}; another agent may be starting on the same state`);
}
