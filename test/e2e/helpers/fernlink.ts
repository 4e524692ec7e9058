import { readFile } from "node:fs/promises";
import http2 from "node:http2";
import https from "node:https";
import { join } from "node:path";
import { fetchPages } from "../../../src/cli/listing.js";
import { assertExit, type Proc, type RunResult, type Sandbox, waitUntil } from "./processes.js";
import { echoOnce } from "./targets.js";

/** `device list --json` / `device show --json` entries, as far as the tests rely on them. */
export interface DeviceJson {
  id: string;
  name: string;
  state: "online" | "offline" | "not-registered";
  online: boolean;
  lastSeen: string | null;
  relay: string | null;
  lan: string[];
  registered: boolean;
}

/** `audit --json` records. */
export interface AuditJson {
  at: string;
  actor: string | null;
  action: string;
  result: "ok" | "denied" | "error";
  reason: string | null;
  device: string | null;
  target: string | null;
  endedAt: string | null;
  bytesUp: number | null;
  bytesDown: number | null;
  /** The API token the action was taken with (its name); null for a session or the server. */
  token: string | null;
}

/** One account and its first admin, created with `server --init-account --init-user`. */
export interface AccountSpec {
  account: string;
  user: string;
}

/** A running `fernlink connect` with the local ports it reported. */
export interface Connection {
  proc: Proc;
  /** Local ports of the `--forward`s, in the order given. */
  forwards: number[];
  /** Local port of `--socks`, when asked for. */
  socks: number | undefined;
}

/**
 * `echoOnce` through the `forward`-th forward of `conn`; when it fails, the error carries what
 * `fernlink connect` wrote to stderr (it names why the stream failed), so a failure in CI says
 * which side refused.
 */
export async function echoVia(conn: Connection, text = "ping\n", forward = 0): Promise<string> {
  try {
    return await echoOnce(conn.forwards[forward]!, text);
  } catch (err) {
    // The client writes its line as it resets the local connection: give it a moment to arrive.
    await new Promise((resolve) => setTimeout(resolve, 300));
    throw new Error(`echo through ${conn.forwards[forward]} failed (${String(err)}); fernlink connect wrote:\n${conn.proc.stderr}`, { cause: err });
  }
}

const READY = /^fernlink server ready: (https:\/\/\S+)$/;

/**
 * One Fernlink installation under test: a server on loopback with its data directory, and
 * a `FERNLINK_HOME` per user. All commands run as real `node dist/cli.js` processes.
 */
export class Site {
  server!: Proc;
  url = "";
  port = 0;
  readonly dataDir: string;
  readonly ca: string;

  private constructor(
    readonly sb: Sandbox,
    /** `--db` URL; undefined means the embedded SQLite in the data dir. */
    readonly db: string | undefined,
    /** Further `fernlink server` flags, given at every start. */
    readonly serverArgs: readonly string[] = [],
    /** Name of the data directory in the sandbox; a second node of a cluster gets its own. */
    private readonly dataName = "data",
    /** Environment of every process of the site (server, commands, agents, connects), e.g. a CA every machine trusts. */
    readonly env: Record<string, string | undefined> = {},
  ) {
    this.dataDir = sb.path(dataName);
    this.ca = sb.path(dataName, "ca.pem");
  }

  /**
   * Starts a server whose data dir has every account in `accounts`. `--init-*` takes one
   * account per start, so each further account is created by a short start before.
   */
  static async start(
    sb: Sandbox,
    accounts: AccountSpec[],
    options: { db?: string; serverArgs?: string[]; dataName?: string; env?: Record<string, string | undefined> } = {},
  ): Promise<Site> {
    const site = new Site(sb, options.db, options.serverArgs, options.dataName, options.env);
    for (const extra of accounts.slice(1)) {
      await site.startServer("127.0.0.1:0", extra);
      // Not checked for exit 0: a SIGTERM right after the ready line can beat the server's
      // signal handler (a src bug, see reconnect.test.ts); the account is committed anyway.
      await site.server.stop();
    }
    await site.startServer("127.0.0.1:0", accounts[0]);
    return site;
  }

  /** Starts `fernlink server` on `listen` (same data dir) and waits for its ready line. */
  async startServer(listen: string, init?: AccountSpec): Promise<void> {
    const args = ["server", "--data", this.dataDir, "--listen", listen, ...(this.db ? ["--db", this.db] : []), ...this.serverArgs];
    if (init) args.push("--init-account", init.account, "--init-user", init.user);
    this.server = this.sb.start(args, { home: this.home("server"), env: this.env });
    const [, url] = await this.server.waitForLine(READY);
    this.url = url!;
    this.port = Number(new URL(this.url).port);
  }

  /** Stops the server (SIGTERM) and starts it again on the same port and data dir. */
  async restartServer(): Promise<void> {
    const stopped = await this.server.stop("SIGTERM");
    if (stopped.code !== 0) throw new Error(`server did not stop cleanly: exit ${stopped.code ?? stopped.signal}\n${stopped.stderr}`);
    await this.startServer(`127.0.0.1:${this.port}`);
  }

  /** The private `FERNLINK_HOME` of a user. */
  home(user: string): string {
    return this.sb.path(this.dataName === "data" ? `home-${user}` : `home-${user}-${this.dataName}`);
  }

  /** Runs `fernlink ARGS` as `user`. */
  cli(user: string, args: string[], options: { env?: Record<string, string | undefined>; input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    return this.sb.run(args, { home: this.home(user), ...options, env: { ...this.env, ...options.env } });
  }

  /** Runs a command that must succeed and returns its stdout. */
  async ok(user: string, args: string[]): Promise<string> {
    const r = await this.cli(user, args);
    assertExit(r, 0);
    return r.stdout;
  }

  async login(spec: AccountSpec): Promise<void> {
    await this.ok(spec.user, ["login", "--server", this.url, "--ca", this.ca, "--account", spec.account, "--user", spec.user]);
  }

  /** `device add NAME --lan …`; returns the activation key. */
  async addDevice(user: string, name: string, lan: string[] = ["127.0.0.0/8"]): Promise<string> {
    const out = await this.ok(user, ["device", "add", name, ...lan.flatMap((l) => ["--lan", l])]);
    const key = /^activation key: (\S+)$/m.exec(out)?.[1];
    if (!key) throw new Error(`no activation key in: ${out}`);
    return key;
  }

  /** `agent register` into a fresh state dir; returns the state dir. */
  async register(key: string, state: string): Promise<string> {
    const dir = this.sb.path(state);
    // The key goes in the environment, as the README tells users, not in the process list.
    const r = await this.cli("agent", ["agent", "register", "--server", this.url, "--ca", this.ca, "--state", dir], { env: { FERNLINK_ACTIVATION_KEY: key } });
    assertExit(r, 0);
    return dir;
  }

  /** Starts `agent run` (with `extra` flags) and waits until it reports the tunnel up. */
  async startAgent(stateDir: string, allow: string[] = [], extra: string[] = []): Promise<Proc> {
    const proc = this.sb.start(["agent", "run", "--state", stateDir, ...allow.flatMap((a) => ["--allow", a]), ...extra], {
      home: this.home("agent"),
      env: this.env,
    });
    await proc.waitForLine(/^fernlink agent online: device "[^"]+" via \S+$/);
    return proc;
  }

  /** A REST call with `user`'s session, without starting a CLI process (each is a Node start, seconds on a loaded machine). */
  async api(user: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const { token } = JSON.parse(await readFile(join(this.home(user), "session.json"), "utf8")) as { token: string };
    const ca = await readFile(this.ca, "utf8");
    return new Promise((resolve, reject) => {
      const req = https.request(
        `${this.url}${path}`,
        { method, ca, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown }));
        },
      );
      req.on("error", reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  /** A REST call with `user`'s session that must succeed (2xx); returns the JSON answer. For setup that is not under test. */
  async apiOk(user: string, method: string, path: string, body?: unknown): Promise<unknown> {
    const r = await this.api(user, method, path, body);
    if (r.status < 200 || r.status > 299) throw new Error(`${method} ${path} as ${user}: ${r.status} ${JSON.stringify(r.json)}`);
    return r.json;
  }

  async devices(user: string): Promise<DeviceJson[]> {
    return JSON.parse(await this.ok(user, ["device", "list", "--json"])) as DeviceJson[];
  }

  /** What `devices()` returns, read from `GET /api/v1/devices` without a CLI start: for polls. */
  async devicesApi(user: string): Promise<DeviceJson[]> {
    return (await this.apiOk(user, "GET", "/api/v1/devices")) as DeviceJson[];
  }

  /**
   * The account's audit records as `audit --json --limit N` prints them, newest first, read
   * page by page from `GET /api/v1/audit` as that command does, without its CLI start.
   */
  async audit(user: string, limit = 200): Promise<AuditJson[]> {
    return fetchPages(
      async (query) => {
        const r = await this.api(user, "GET", `/api/v1/audit?${query}`);
        if (r.status !== 200) throw new Error(`GET /api/v1/audit: ${r.status} ${JSON.stringify(r.json)}`);
        return r.json as (AuditJson & { seq: number })[];
      },
      {},
      limit,
    );
  }

  /** Polls `devicesApi` until `name` has the wanted online state; returns the entry. */
  waitForDevice(user: string, name: string, online: boolean, timeoutMs = 10_000): Promise<DeviceJson> {
    return waitUntil(
      `device "${name}" is ${online ? "online" : "offline"}`,
      async () => (await this.devicesApi(user)).find((d) => d.name === name && d.online === online),
      timeoutMs,
      100,
    );
  }

  /** Starts `connect DEVICE --forward 0:TARGET… [--socks 0]` and waits for every listener line. */
  async connect(user: string, device: string, targets: string[], socks = false): Promise<Connection> {
    const args = ["connect", device, ...targets.flatMap((t) => ["--forward", `0:${t}`]), ...(socks ? ["--socks", "0"] : [])];
    const proc = this.sb.start(args, { home: this.home(user), env: this.env });
    const forwards: number[] = [];
    for (const target of targets) {
      const m = await proc.waitForLine(new RegExp(`^forwarding 127\\.0\\.0\\.1:(\\d+) -> ${escapeRegExp(target)} via ${escapeRegExp(device)}$`));
      forwards.push(Number(m[1]));
    }
    const socksPort = socks ? Number((await proc.waitForLine(new RegExp(`^socks5 on 127\\.0\\.0\\.1:(\\d+) via ${escapeRegExp(device)}$`)))[1]) : undefined;
    return { proc, forwards, socks: socksPort };
  }
}

/** What the relay answered to a hand-made CONNECT, and the echo of `payload` when it said 200. */
export interface RawStreamResult {
  status: number;
  error: string | undefined;
  reason: string | undefined;
  echoed: string | undefined;
}

/**
 * Opens one stream the way `fernlink connect` does (HTTP/2 CONNECT with the user's session
 * token), but without the CLI's device lookup first: this reaches the relay's own checks.
 */
export async function rawStream(site: Site, user: string, device: string, target: string, payload = "raw\n"): Promise<RawStreamResult> {
  const session = JSON.parse(await readFile(join(site.home(user), "session.json"), "utf8")) as { token: string };
  const ca = await readFile(site.ca, "utf8");
  const h2 = http2.connect(site.url, { ca, ALPNProtocols: ["h2"] });
  h2.on("error", () => {});
  try {
    return await new Promise<RawStreamResult>((resolve, reject) => {
      const stream = h2.request({ ":method": "CONNECT", ":authority": target, "fernlink-device": device, authorization: `Bearer ${session.token}` });
      stream.once("error", reject);
      stream.once("response", (headers) => {
        const status = Number(headers[":status"]);
        const error = headers["fernlink-error"] as string | undefined;
        const reason = headers["fernlink-reason"] as string | undefined;
        if (status !== 200) return resolve({ status, error, reason, echoed: undefined });
        let echoed = "";
        stream.setEncoding("utf8").on("data", (s: string) => (echoed += s));
        stream.once("end", () => resolve({ status, error, reason, echoed }));
        stream.end(payload);
      });
    });
  } finally {
    h2.destroy();
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
