import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import https from "node:https";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { BACKENDS, dropSchema, siteOptions } from "./helpers/database.js";
import { Site } from "./helpers/fernlink.js";
import { assertExit, PASSWORD, type Proc, Sandbox, waitUntil } from "./helpers/processes.js";
import { startEchoServer } from "./helpers/targets.js";

/**
 * The operator's account controls against a running server, through real processes on SQLite
 * and PostgreSQL: `operator account add` makes an account whose admin logs in and adds a
 * device; `disable` (a separate process writing the store) refuses the admin's login and
 * requests with the one-line message, drops the device's tunnel and refuses the agent, and
 * cuts an open forward's stream, all within seconds; `enable` brings them back by themselves.
 */

const DISABLED = /^fernlink: the account is disabled; ask your service provider$/;

interface Summary {
  name: string;
  state: string;
  users: number;
  devices: number;
  online: number;
  streams: number;
  bytesUp: number;
  bytesDown: number;
}

for (const backend of BACKENDS) {
  describe(`the operator's accounts on a running server (${backend})`, () => {
    const schema = `fernlink_e2e_operator_${randomBytes(5).toString("hex")}`;
    let sb: Sandbox;
    let site: Site;
    let echo: Awaited<ReturnType<typeof startEchoServer>>;
    let agent: Proc;

    const operator = (args: string[], env: Record<string, string> = {}) =>
      site.cli("operator", ["operator", "account", ...args, "--data", site.dataDir, ...(site.db ? ["--db", site.db] : [])], { env });
    const summary = async (): Promise<Summary | undefined> => {
      const r = await operator(["list", "--json"]);
      assertExit(r, 0);
      return (JSON.parse(r.stdout) as Summary[]).find((a) => a.name === "beta");
    };

    /** A forward through `fernlink connect` with one TCP connection that echoed; resolves `closed` when it ends. */
    async function openForward() {
      const conn = await site.connect("bob", "press-9", [`127.0.0.1:${echo.port}`]);
      const socket = net.connect({ host: "127.0.0.1", port: conn.forwards[0]! });
      socket.on("error", () => {});
      socket.setEncoding("utf8");
      socket.write("hello\n");
      assert.equal(((await once(socket, "data")) as [string])[0], "hello\n");
      return { conn, socket, closed: once(socket, "close") };
    }

    before(async () => {
      sb = await Sandbox.create(`operator-${backend.toLowerCase()}`);
      if (backend === "PostgreSQL") sb.defer(() => dropSchema(schema));
      site = await Site.start(sb, [], siteOptions(backend, schema));
      echo = await startEchoServer();
      sb.defer(() => echo.close());
    });
    after(() => sb?.cleanup());

    // On PostgreSQL the same path with fewer looks at the list: the store functions run on both in unit tests.
    const full = backend === "SQLite";
    let forward: Awaited<ReturnType<typeof openForward>>;

    test("creates an account whose admin logs in and adds a device; the list shows its usage", async () => {
      assertExit(await operator(["add", "beta", "--admin", "bob"], { FERNLINK_PASSWORD: PASSWORD }), 0);
      await site.login({ account: "beta", user: "bob" });
      const key = await site.addDevice("bob", "press-9");
      agent = await site.startAgent(await site.register(key, "agent-state"));
      forward = await openForward();
      if (!full) return;
      const usage = await waitUntil("the list shows the device online and its stream open", async () => {
        const s = await summary();
        return s && s.online === 1 && s.streams === 1 ? s : undefined;
      });
      const { name, state, users, devices, online, streams } = usage;
      assert.deepEqual({ name, state, users, devices, online, streams }, { name: "beta", state: "enabled", users: 1, devices: 1, online: 1, streams: 1 });
    });

    test("disable refuses the admin and the agent and cuts the open stream within seconds; enable brings both back", async (t) => {
      const started = Date.now();
      assertExit(await operator(["disable", "beta"]), 0);
      await forward.closed;
      t.diagnostic(`stream cut ${Date.now() - started} ms after the disable command started`);
      assert.ok(Date.now() - started < 10_000);
      void forward.conn.proc.stop();
      const login = ["login", "--server", site.url, "--ca", site.ca, "--account", "beta", "--user", "bob"];
      const [list, relogin] = await Promise.all([
        site.cli("bob", ["device", "list"]),
        site.cli("bob-again", login, { env: { FERNLINK_PASSWORD: PASSWORD } }),
        waitUntil("the agent is refused with the reason", async () => (agent.stderr.includes("the account is disabled") ? true : undefined), 20_000, 200),
      ]);
      assertExit(list, 1, DISABLED);
      assertExit(relogin, 1, DISABLED);
      if (full) {
        // The table, this once: the device offline, no stream open, the cut stream's bytes counted.
        await waitUntil("the list shows the account disabled and its device offline", async () => {
          const r = await operator(["list"]);
          assert.match(r.stdout, /^ACCOUNT\s+STATE\s+USERS\s+DEVICES\s+ONLINE\s+STREAMS\s+BYTES UP\s+BYTES DOWN$/m);
          return /^beta\s+disabled\s+1\s+1\s+0\s+0\s+[1-9]\d*\s+[1-9]\d*$/m.test(r.stdout) ? true : undefined;
        });
      }
      assert.ok(agent.running, "the agent keeps trying");

      assertExit(await operator(["enable", "beta"]), 0);
      assertExit(await site.cli("bob", ["device", "list"]), 0);
      await site.waitForDevice("bob", "press-9", true, 40_000);
    });

    test("remove needs --yes, then takes the account's users and devices and keeps its audit", { skip: !full && "SQLite shows it" }, async () => {
      assertExit(await operator(["remove", "beta"]), 2, /add --yes/);
      assertExit(await operator(["remove", "beta", "--yes"]), 0);
      assertExit(await site.cli("bob", ["device", "list"]), 1, /session has expired or was ended/);
      // The operator's remote view, with a token made on the host, over the server's own port.
      const made = await site.cli("operator", ["operator", "token", "add", "remote", "--data", site.dataDir]);
      assertExit(made, 0);
      const token = /^operator token: (flo_\S+)$/m.exec(made.stdout)?.[1];
      assert.ok(token, made.stdout);
      const listed = await getJson(`${site.url}/api/v1/operator/accounts`, token, await readFile(site.ca, "utf8"));
      assert.deepEqual(listed, []);
      const system = await site.cli("operator", ["audit", "--system", "--json", "--data", site.dataDir]);
      assertExit(system, 0);
      const actions = (JSON.parse(system.stdout) as { action: string; object: string }[]).filter((r) => r.object === "beta").map((r) => r.action);
      assert.deepEqual(actions.sort(), ["account.add", "account.disable", "account.enable", "account.remove"]);
    });
  });
}

/** GET with a bearer token over TLS checked against `ca`; the JSON body of a 200, else an error. */
function getJson(url: string, token: string, ca: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca, headers: { authorization: `Bearer ${token}` } }, (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (s: string) => (text += s));
        res.on("end", () => (res.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(`${res.statusCode}: ${text}`))));
      })
      .on("error", reject);
  });
}
