import { readFile } from "node:fs/promises";
import { request } from "node:https";
import { join } from "node:path";
import type { HostPort } from "../protocol/target.js";
import { formatHostPort } from "../protocol/target.js";

/**
 * Whether the server answering on `listen` is the one of this data folder: it is when its
 * certificate was issued by the folder's CA (DIR/ca.pem). Loopback stands in for a wildcard address.
 */
export async function sameDataServer(dataDir: string, listen: HostPort): Promise<string | undefined> {
  let ca: string;
  try {
    ca = await readFile(join(dataDir, "ca.pem"), "utf8");
  } catch {
    return undefined;
  }
  const host = listen.host === "0.0.0.0" ? "127.0.0.1" : listen.host === "::" ? "::1" : listen.host;
  const url = `https://${formatHostPort({ host, port: listen.port })}`;
  const answered = await new Promise<boolean>((resolve) => {
    const req = request(`${url}/api/v1/health`, { ca, timeout: 3_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
    req.end();
  });
  return answered ? url : undefined;
}
