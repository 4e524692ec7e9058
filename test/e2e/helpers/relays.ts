import assert from "node:assert/strict";
import type { Site } from "./fernlink.js";
import { type Proc, waitUntil } from "./processes.js";

/** A running `fernlink relay run` and the URL it said it is reached at. */
export interface RelayProc {
  name: string;
  proc: Proc;
  url: string;
}

/**
 * `relay add NAME` on `site` (as `admin`), then `relay run` with the key it handed out (in the
 * environment, as the README tells operators) and `args` (`--listen` and the like); resolves
 * once the service lists the relay online: agents are sent there from then on.
 */
export async function startRelay(site: Site, options: { admin: string; name: string; args: string[]; env?: Record<string, string> }): Promise<RelayProc> {
  const { admin, name } = options;
  const store = ["--data", site.dataDir, ...(site.db ? ["--db", site.db] : [])];
  const out = await site.ok(admin, ["relay", "add", name, ...store]);
  const key = /^relay key: (\S+)$/m.exec(out)?.[1];
  assert.ok(key, out);
  const proc = site.sb.start(["relay", "run", "--access", site.url, "--ca", site.ca, "--state", site.sb.path(`relay-${name}`), ...options.args], {
    home: site.home("relay"),
    env: { ...options.env, FERNLINK_RELAY_KEY: key },
  });
  const [, url] = await proc.waitForLine(/^fernlink relay ready: (https:\/\/\S+)$/);
  await waitUntil(
    `relay ${name} online`,
    async () => {
      const relays = JSON.parse(await site.ok(admin, ["relay", "list", "--json", ...store])) as { name: string; online: boolean }[];
      return relays.some((r) => r.name === name && r.online) || undefined;
    },
    15_000,
    250,
  );
  return { name, proc, url: url! };
}
