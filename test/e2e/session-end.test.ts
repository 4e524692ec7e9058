import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import net from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { hashSecret } from "../../src/access/secret-token.js";
import { SESSION_IDLE_MS, TOUCH_INTERVAL_MS } from "../../src/access/session-times.js";
import { BACKENDS, dropSchema, siteOptions, sql } from "./helpers/database.js";
import { type AuditJson, type Connection, Site } from "./helpers/fernlink.js";
import { assertExit, PASSWORD, Sandbox, waitUntil } from "./helpers/processes.js";
import { startEchoServer } from "./helpers/targets.js";

/**
 * Ending a session or an API token ends its live streams, through real processes on SQLite
 * and PostgreSQL: `passwd` (the user's other sessions), a session reaching its absolute end
 * or its idle limit, and an API token revoked or expired. Each `fernlink connect --forward`
 * stream to a real TCP echo target must close within 1 s of the end, measured from the
 * server's audit record (or from the expiry time itself), while a stream of a session that
 * did not end keeps echoing. `passwd` and `token revoke` cut inside the API call, before
 * their audit record is written, so those figures can be a few ms below zero.
 */

const ACME = { account: "acme", user: "alice" };
/** How soon after its session or token ended a stream must be closed. */
const CUT_WITHIN_MS = 1_000;
/** How long a test waits for a close that should have come, before reporting it never came. */
const GIVE_UP_MS = 8_000;

/** A forward stream held open through `fernlink connect`: the local socket and when it closed. */
interface LiveForward {
  conn: Connection;
  socket: net.Socket;
  /** Resolves with Date.now() when the local socket closed; rejects after GIVE_UP_MS from `armed`. */
  closedAt(): Promise<number>;
  /** True while the socket is open. */
  open(): boolean;
}

for (const backend of BACKENDS) {
  describe(`ending a session or an API token ends its streams on ${backend}`, () => {
    const schema = `fernlink_e2e_ends_${randomBytes(5).toString("hex")}`;
    let sb: Sandbox;
    let site: Site;
    let echo: Awaited<ReturnType<typeof startEchoServer>>;

    /** Logs `user` of acme in with the FERNLINK_HOME called `home`; returns its session token. */
    async function loginAs(home: string, user: string, password = PASSWORD): Promise<string> {
      const r = await site.cli(home, ["login", "--server", site.url, "--ca", site.ca, "--account", "acme", "--user", user], {
        env: { FERNLINK_PASSWORD: password },
      });
      assertExit(r, 0);
      return (JSON.parse(await readFile(join(site.home(home), "session.json"), "utf8")) as { token: string }).token;
    }

    /**
     * Makes an API token as alice (through the REST API: `token add` is not under test here) and
     * saves it as the session of the FERNLINK_HOME `home`, as a script would use it.
     */
    async function tokenHome(home: string, name: string, expiresDays?: number): Promise<string> {
      const made = await site.apiOk("alice", "POST", "/api/v1/tokens", { name, role: "admin", ...(expiresDays ? { expiresDays } : {}) });
      const { token } = made as { token: string };
      sb.noteSecret("API token", token);
      const session = { server: site.url, ca: site.ca, account: "acme", user: "alice", token, expiresAt: new Date(Date.now() + 86_400_000).toISOString() };
      await mkdir(site.home(home), { recursive: true, mode: 0o700 });
      await writeFile(join(site.home(home), "session.json"), JSON.stringify(session), { mode: 0o600 });
      return token;
    }

    /** Opens `fernlink connect --forward` as `home` and one TCP connection through it that echoes. */
    async function liveForward(home: string): Promise<LiveForward> {
      const conn = await site.connect(home, "press-7", [`127.0.0.1:${echo.port}`]);
      const socket = net.connect({ host: "127.0.0.1", port: conn.forwards[0]! });
      socket.on("error", () => {});
      socket.setEncoding("utf8");
      socket.write("still there?\n");
      const [echoed] = (await once(socket, "data")) as [string];
      assert.equal(echoed, "still there?\n");
      let closed: number | undefined;
      const closing = once(socket, "close").then(() => (closed = Date.now()));
      return {
        conn,
        socket,
        open: () => closed === undefined,
        closedAt: () =>
          Promise.race([
            closing,
            sleep(GIVE_UP_MS).then(() => {
              throw new Error(`the stream of ${home} was still open ${GIVE_UP_MS} ms later`);
            }),
          ]),
      };
    }

    /** Asserts the stream still carries bytes both ways. */
    async function stillEchoes(forward: LiveForward, what: string): Promise<void> {
      assert.ok(forward.open(), `${what}: the stream is still open`);
      forward.socket.write("and now?\n");
      const [echoed] = (await once(forward.socket, "data")) as [string];
      assert.equal(echoed, "and now?\n", what);
    }

    const audited = (what: string, match: (r: AuditJson) => boolean): Promise<AuditJson> =>
      waitUntil(what, async () => (await site.audit("alice", 300)).find(match), 15_000, 200);

    before(async () => {
      sb = await Sandbox.create(`ends-${backend.toLowerCase()}`);
      if (backend === "PostgreSQL") sb.defer(() => dropSchema(schema));
      site = await Site.start(sb, [ACME], siteOptions(backend, schema));
      echo = await startEchoServer();
      sb.defer(() => echo.close());
      await site.login(ACME);
      const key = await site.addDevice("alice", "press-7", ["127.0.0.0/8"]);
      await site.startAgent(await site.register(key, "agent-state"));
      await site.apiOk("alice", "POST", "/api/v1/users", { name: "dave", role: "admin", password: PASSWORD });
    });

    after(() => sb?.cleanup());

    test("passwd cuts the streams of the user's other sessions within 1 s, and the stream of the session it ran in keeps running", async (t) => {
      await loginAs("dave-stolen", "dave");
      await loginAs("dave-desk", "dave");
      const stolen = await liveForward("dave-stolen");
      const desk = await liveForward("dave-desk");

      const changed = await site.cli("dave-desk", ["passwd"], { env: { FERNLINK_NEW_PASSWORD: "a new and much longer password" } });
      assertExit(changed, 0);
      const closedAt = await stolen.closedAt();
      const changedAt = Date.parse(
        (await audited("the password change is audited", (r) => r.action === "passwd" && r.actor === "dave" && r.result === "ok")).at,
      );
      t.diagnostic(`cut ${closedAt - changedAt} ms after passwd`);
      assert.ok(closedAt - changedAt < CUT_WITHIN_MS, `the stolen session's stream closed ${closedAt - changedAt} ms after passwd`);
      await sleep(1_500);
      await stillEchoes(desk, "the stream of the session passwd ran in");
      await Promise.all([stolen.conn.proc.stop(), desk.conn.proc.stop()]);
    });

    test("a session reaching its absolute end has its stream cut within 1 s of the end; another session's stream keeps running", async (t) => {
      const token = await loginAs("alice-ending", "alice");
      const ending = await liveForward("alice-ending");
      const other = await liveForward("alice");
      const endsAt = Date.now() + 2_000;
      await setSession(token, "expires_at", new Date(endsAt));

      const closedAt = await ending.closedAt();
      assert.ok(closedAt >= endsAt - 100, `the stream closed ${endsAt - closedAt} ms before its session ended`);
      t.diagnostic(`cut ${closedAt - endsAt} ms after the session's end`);
      assert.ok(closedAt - endsAt < CUT_WITHIN_MS, `the stream closed ${closedAt - endsAt} ms after its session ended`);
      await stillEchoes(other, "a stream of another session of the same user");
      await Promise.all([ending.conn.proc.stop(), other.conn.proc.stop()]);
    });

    test("a session reaching its idle limit has its silent stream cut within 1 s of the limit", async (t) => {
      const token = await loginAs("alice-idle", "alice");
      const idle = await liveForward("alice-idle");
      // Bytes the user sends count as use of the session; let the server see the first ones before moving the time.
      await sleep(1_000);
      const idleAt = Date.now() + 2_000;
      await setSession(token, "last_used_at", new Date(idleAt - SESSION_IDLE_MS - TOUCH_INTERVAL_MS));

      const closedAt = await idle.closedAt();
      assert.ok(closedAt >= idleAt - 100, `the stream closed ${idleAt - closedAt} ms before its session went idle`);
      t.diagnostic(`cut ${closedAt - idleAt} ms after the idle limit`);
      assert.ok(closedAt - idleAt < CUT_WITHIN_MS, `the stream closed ${closedAt - idleAt} ms after its session went idle`);
      await idle.conn.proc.stop();
    });

    test("revoking an API token cuts its streams within 1 s; the streams of alice's session keep running", async (t) => {
      await tokenHome("ci", "ci-deploy");
      const byToken = await liveForward("ci");
      const bySession = await liveForward("alice");

      assert.equal(await site.ok("alice", ["token", "revoke", "ci-deploy"]), 'API token "ci-deploy" revoked\n');
      const closedAt = await byToken.closedAt();
      const revokedAt = Date.parse((await audited("the revocation is audited", (r) => r.action === "token.revoke" && r.result === "ok")).at);
      t.diagnostic(`cut ${closedAt - revokedAt} ms after the revocation`);
      assert.ok(closedAt - revokedAt < CUT_WITHIN_MS, `the token's stream closed ${closedAt - revokedAt} ms after the revocation`);
      await stillEchoes(bySession, "a stream of alice's session");
      const streamRecord = await audited(
        "the token's stream is audited with the token",
        (r) => r.action === "stream" && r.endedAt !== null && r.token === "ci-deploy",
      );
      assert.equal(streamRecord.actor, "alice", "the stream acted for alice, with her token");
      assertExit(await site.cli("ci", ["device", "list"]), 1, /^fernlink: the API token is unknown, expired or revoked/);
      await Promise.all([byToken.conn.proc.stop(), bySession.conn.proc.stop()]);
    });

    test("an API token reaching its expiry has its stream cut within 1 s of the expiry", async (t) => {
      const token = await tokenHome("ci-nightly", "nightly", 1);
      const byToken = await liveForward("ci-nightly");
      const endsAt = Date.now() + 2_000;
      const { changes } = await sql(site, "update api_tokens set expires_at = $1 where token_hash = $2", [new Date(endsAt).toISOString(), hashSecret(token)]);
      assert.equal(changes, 1);

      const closedAt = await byToken.closedAt();
      assert.ok(closedAt >= endsAt - 100, `the stream closed ${endsAt - closedAt} ms before its token expired`);
      t.diagnostic(`cut ${closedAt - endsAt} ms after the token's expiry`);
      assert.ok(closedAt - endsAt < CUT_WITHIN_MS, `the stream closed ${closedAt - endsAt} ms after its token expired`);
      await byToken.conn.proc.stop();
    });

    /** Sets one time of the session behind `token`, as the server would find it. */
    async function setSession(token: string, column: "expires_at" | "last_used_at", at: Date): Promise<void> {
      const { changes } = await sql(site, `update sessions set ${column} = $1 where token_hash = $2`, [at.toISOString(), hashSecret(token)]);
      assert.equal(changes, 1, `the session of the token is in the ${backend} store`);
    }
  });
}
