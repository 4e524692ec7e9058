import { execFileSync } from "node:child_process";
import { chmod, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../../src/shared/free-ports-test-kit.js";
import { startDaemon } from "./daemon.js";

/** Debian's squid, and its authentication helpers. */
export const SQUID = "/usr/sbin/squid";
const HELPERS = "/usr/lib/squid";

/** A private squid on a loopback port, with its own config, logs and password files in a temp dir. */
export interface Squid {
  port: number;
  url: string;
  /** What squid logged for each request (its access.log). */
  accessLog(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts squid as a forward proxy that lets only `user` through, with Basic
 * (basic_ncsa_auth, an htpasswd file) or Digest (digest_file_auth) authentication.
 */
export async function startSquid(options: { scheme: "basic" | "digest"; user: string; password: string }): Promise<Squid> {
  const dir = await mkdtemp(join(tmpdir(), "fernlink-squid-"));
  // squid started as root drops to the "proxy" user, which must read the password files and write the logs.
  await chmod(dir, 0o777);
  const port = await freePort();
  const auth =
    options.scheme === "basic"
      ? [`auth_param basic program ${HELPERS}/basic_ncsa_auth ${join(dir, "passwd")}`, "auth_param basic realm plant"]
      : [`auth_param digest program ${HELPERS}/digest_file_auth ${join(dir, "passwd")}`, "auth_param digest realm plant"];
  const entry =
    options.scheme === "basic"
      ? `${options.user}:${execFileSync("openssl", ["passwd", "-apr1", options.password], { encoding: "utf8" }).trim()}`
      : `${options.user}:${options.password}`;
  await writeFile(join(dir, "passwd"), `${entry}\n`, { mode: 0o644 });
  const config = [
    `http_port 127.0.0.1:${port}`,
    `pid_filename ${join(dir, "squid.pid")}`,
    `cache_log ${join(dir, "cache.log")}`,
    `access_log stdio:${join(dir, "access.log")}`,
    `coredump_dir ${dir}`,
    "cache deny all",
    "visible_hostname fernlink-test",
    "pinger_enable off",
    "netdb_filename none",
    "shutdown_lifetime 0 seconds",
    ...auth,
    "acl authed proxy_auth REQUIRED",
    "http_access allow authed",
    "http_access deny all",
  ];
  const file = join(dir, "squid.conf");
  await writeFile(file, `${config.join("\n")}\n`, { mode: 0o644 });
  const { stop } = await startDaemon({ name: "squid", command: SQUID, args: ["-N", "-f", file], port: port, dir });
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    accessLog: () => readFile(join(dir, "access.log"), "utf8").catch(() => ""),
    stop,
  };
}
