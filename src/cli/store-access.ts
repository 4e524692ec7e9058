import { resolve } from "node:path";
import type { Command } from "commander";
import type { Store } from "../access/store/index.js";

/** `--data DIR [--db URL]`: the store of an access node, read on its own machine. */
export interface StoreFlags {
  data: string;
  db?: string;
}

/** Runs `fn` on the store of an access node (its --data and --db), closing it afterwards. */
export async function withStore<T>(flags: StoreFlags, fn: (store: Store) => Promise<T>): Promise<T> {
  const { openDatabase } = await import("../access/store/index.js");
  const url = flags.db ?? process.env["FERNLINK_DB"];
  const store = await openDatabase({ dataDir: resolve(flags.data), ...(url ? { url } : {}) });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

export function storeOptions(cmd: Command): Command {
  return cmd
    .requiredOption("--data <dir>", "the access node's data directory")
    .option("--db <url>", "postgres://… of the cluster (default: the SQLite database in --data, or FERNLINK_DB)");
}
