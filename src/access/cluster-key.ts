import type { KeyObject } from "node:crypto";
import { createSecretKey } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { FernlinkError } from "../protocol/errors.js";
import { createKeyFile, KEY_BYTES } from "./key-file.js";

/**
 * The cluster key: 32 random bytes in a file (hex, or base64 when an operator made it), mode
 * 0600, the same on every node of a cluster. It seals the keys the nodes share in the store
 * (see shared-keys.ts) and never enters the database, argv or the environment: at most a
 * path to it does (`--cluster-key FILE`, `FERNLINK_CLUSTER_KEY`).
 */

/** Name of the cluster key file inside the data directory. */
export const CLUSTER_KEY_FILE = "cluster-key";

/** Why a node cannot use its cluster key; the CLI prints the message, tests check this. */
export type ClusterKeyProblem = "missing" | "wrong" | "readable-by-others" | "malformed" | "damaged" | "ca-differs";

/** A node cannot start with the cluster key it has; the message names the file to copy or fix. */
export class ClusterKeyError extends FernlinkError {
  readonly problem: ClusterKeyProblem;

  constructor(problem: ClusterKeyProblem, message: string, options?: { cause?: unknown }) {
    super("internal", message, options);
    this.problem = problem;
  }
}

/** Where this node's cluster key is: the file named by --cluster-key or FERNLINK_CLUSTER_KEY, else DIR/cluster-key. */
export function clusterKeyPath(dataDir: string, named?: string): string {
  return named ?? join(dataDir, CLUSTER_KEY_FILE);
}

/**
 * Reads the cluster key at `path`; undefined when there is no such file. A file that others
 * may read is refused: whoever reads it can open the CA key in the store and issue device
 * certificates, and a copy made with a careless `cp` or a deployment tool is better caught at
 * the start than found later — the same rule as the agent's device key.
 */
export async function readClusterKey(path: string): Promise<KeyObject | undefined> {
  let text: string;
  try {
    const info = await stat(path);
    if ((info.mode & 0o077) !== 0) {
      throw new ClusterKeyError("readable-by-others", `cluster key ${path} is readable by others; run: chmod 600 ${path}`);
    }
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  const bytes = parseKey(text.trim());
  if (bytes === undefined) {
    throw new ClusterKeyError("malformed", `cluster key ${path} is not ${KEY_BYTES} bytes in hex or base64: copy it again from another node of the cluster`);
  }
  return createSecretKey(bytes);
}

function parseKey(text: string): Buffer | undefined {
  if (/^[0-9a-fA-F]+$/.test(text) && text.length === KEY_BYTES * 2) return Buffer.from(text, "hex");
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(text) || /^[A-Za-z0-9_-]+$/.test(text)) {
    const bytes = Buffer.from(text, "base64");
    if (bytes.length === KEY_BYTES) return bytes;
  }
  return undefined;
}

/**
 * Reads the cluster key at `path`, creating a new random one (0600, written in full before
 * it gets its name) when there is none. `created` is true only for the start that made it.
 */
export async function loadOrCreateClusterKey(path: string): Promise<{ key: KeyObject; created: boolean }> {
  const existing = await readClusterKey(path);
  if (existing !== undefined) return { key: existing, created: false };
  const created = await createKeyFile(path);
  const key = await readClusterKey(path);
  if (key === undefined) throw new FernlinkError("internal", `cluster key ${path} disappeared while it was being created`);
  return { key, created };
}
