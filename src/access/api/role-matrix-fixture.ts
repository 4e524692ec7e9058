import { X509Certificate } from "node:crypto";
import { routePath } from "../../protocol/api.js";
import type { LiveStream } from "../../protocol/relay-access.js";
import { createCsrPem, generateKeyPairPem } from "../../shared/pki.js";
import { type AccessFixture, FIXTURE_PASSWORD, openAccessFixture, type Reply } from "../access-rules-fixture.js";
import type { TEST_BACKENDS } from "../access-test-kit.js";
import { hashPassword } from "../password.js";
import { authenticate } from "../sessions.js";
import { findAccountByName } from "../store/accounts.js";
import { createDevice } from "../store/devices.js";
import { createNotifyRule } from "../store/notifications.js";
import type { AuditRow } from "../store/schema.js";
import { createUser } from "../store/users.js";

/** The id of the notification rule the matrix removes. */
export const MATRIX_RULE_ID = "00000000-0000-4000-8000-000000000016";

/** The id of the one recording the matrix's account keeps. */
export const MATRIX_RECORDING = "00000000-0000-4000-8000-000000000019";

/** Users made only so that one route's sample can change them (password, one-time codes). */
export const SPARE_USERS = { paula: "member", adam: "admin", otto: "member", ada: "admin", mona: "member", adele: "admin" } as const;
type SpareUser = keyof typeof SPARE_USERS;

/** The id of a session of bob's that the session routes end. */
export const MATRIX_SESSION = "matrix-session";

/** How a matrix call is made: path parameters, body (a string is sent as is), query, TLS peer certificate. */
export interface CallOptions {
  token?: string;
  params?: Record<string, string>;
  body?: unknown;
  query?: Record<string, string>;
  peerCertificate?: X509Certificate;
}

/**
 * The access fixture (acme: alice admin, bob and carol members, press-7, press-8; other: olga
 * admin) plus what every route's sample request needs: spare users, objects to remove, a rule
 * that gives bob press-7, a registered device and an unused activation key.
 */
export interface MatrixFixture {
  base: AccessFixture;
  tokens: Record<"alice" | "bob" | "olga" | SpareUser, string>;
  /** TOTP secrets of mona and adele, whose one-time codes are on. */
  otpSecrets: Record<"mona" | "adele", string>;
  /** Certificate of the registered device "agent-box". */
  deviceCertificate: X509Certificate;
  /** An unused activation key of device "agent-box-2", and a CSR to send with it. */
  registration: { activationKey: string; csr: string };
  call(method: string, pattern: string, options?: CallOptions): Promise<Reply>;
  login(account: "acme" | "other", user: string): Promise<string>;
  /** Refusals recorded for `actor` so far (after pending writes finished), oldest first. */
  denials(actor: string): Promise<AuditRow[]>;
  close(): Promise<void>;
}

/** A live stream of bob's to press-7, for the live-stream routes; its id is `matrix-stream`. */
const MATRIX_STREAM = (accountId: string, base: AccessFixture, sessionId: string): LiveStream => ({
  streamId: "matrix-stream",
  request: { token: undefined, device: "press-7", target: { host: "192.168.1.10", port: 502 }, source: "192.0.2.9" },
  grant: {
    accountId,
    userId: base.users.bob.id,
    userName: "bob",
    sessionId,
    deviceId: base.devices.press7.id,
    deviceName: "press-7",
    lastSeen: null,
    allowedTargets: ["192.168.1.10:502"],
  },
  startedAt: base.access.ctx.now(),
  bytesUp: 10,
  bytesDown: 20,
});

const csr = async () => createCsrPem((await generateKeyPairPem()).privateKeyPem, { commonName: "matrix" });

/** Builds the matrix fixture on a fresh database of `backend`. */
export async function openMatrixFixture(backend: (typeof TEST_BACKENDS)[number]): Promise<MatrixFixture> {
  const base = await openAccessFixture(backend);
  const { ctx } = base.access;
  try {
    const acme = (await findAccountByName(ctx.db, "acme"))!;
    const passwordHash = await hashPassword(FIXTURE_PASSWORD);
    const now = ctx.now();
    for (const [name, role] of Object.entries(SPARE_USERS)) await createUser(ctx.db, { accountId: acme.id, name, passwordHash, role, now });
    await createUser(ctx.db, { accountId: acme.id, name: "leaver", passwordHash, role: "member", now });
    // Users the admin controls lock, reset and promote; nobody signs in as them.
    for (const name of ["lockee", "forgetter", "promotee"]) await createUser(ctx.db, { accountId: acme.id, name, passwordHash, role: "member", now });
    await createDevice(ctx.db, { accountId: acme.id, name: "old-press", lan: ["192.168.9.0/24"], now });

    const call = async (method: string, pattern: string, options: CallOptions = {}): Promise<Reply> => {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (options.token) headers["authorization"] = `Bearer ${options.token}`;
      const query = options.query ? `?${new URLSearchParams(options.query).toString()}` : "";
      const body = options.body === undefined ? {} : { body: typeof options.body === "string" ? options.body : JSON.stringify(options.body) };
      const cert = options.peerCertificate;
      const socket = { remoteAddress: "192.0.2.7", ...(cert ? { authorized: true, getPeerCertificate: () => cert } : {}) };
      const res = await base.app.request(`${routePath(pattern, options.params ?? {})}${query}`, { method, headers, ...body }, {
        incoming: { socket },
      } as never);
      // An event stream never ends by itself: its status is the answer.
      if (res.headers.get("content-type")?.startsWith("text/event-stream")) {
        await res.body?.cancel();
        return { status: res.status, json: {} };
      }
      return { status: res.status, json: await res.json() };
    };
    const login = async (account: "acme" | "other", user: string): Promise<string> => {
      const res = await call("POST", "/api/v1/login", { body: { account, user, password: FIXTURE_PASSWORD } });
      if (res.status !== 200) throw new Error(`login of ${user} failed: ${JSON.stringify(res.json)}`);
      return res.json.token as string;
    };
    const must = async (reply: Promise<Reply>, what: string): Promise<Reply> => {
      const res = await reply;
      if (res.status >= 300) throw new Error(`fixture step "${what}" failed: ${JSON.stringify(res.json)}`);
      return res;
    };

    const tokens = { alice: await login("acme", "alice"), bob: await login("acme", "bob"), olga: await login("other", "olga") } as MatrixFixture["tokens"];
    for (const name of Object.keys(SPARE_USERS) as SpareUser[]) tokens[name] = await login("acme", name);
    const otpSecrets = {
      mona: (await must(call("POST", "/api/v1/otp/enable", { token: tokens.mona }), "otp for mona")).json.secret as string,
      adele: (await must(call("POST", "/api/v1/otp/enable", { token: tokens.adele }), "otp for adele")).json.secret as string,
    };

    const admin = (method: string, pattern: string, options: CallOptions, what: string) =>
      must(call(method, pattern, { token: tokens.alice, ...options }), what);
    for (const name of ["service-team", "revoke-team", "doomed-group"]) await admin("POST", "/api/v1/groups", { body: { name } }, `group ${name}`);
    for (const name of ["line-3", "doomed-pool"]) await admin("POST", "/api/v1/pools", { body: { name } }, `pool ${name}`);
    await admin("POST", "/api/v1/groups/:name/members", { params: { name: "service-team" }, body: { add: ["bob"] } }, "bob in service-team");
    await admin("POST", "/api/v1/pools/:name/devices", { params: { name: "line-3" }, body: { add: ["press-7"] } }, "press-7 in line-3");
    await admin("POST", "/api/v1/access-rules", { body: { group: "service-team", pool: "line-3", level: "connect" } }, "rule service-team/line-3");
    await admin("POST", "/api/v1/access-rules", { body: { group: "revoke-team", pool: "line-3", level: "view" } }, "rule revoke-team/line-3");
    await admin("POST", "/api/v1/tokens", { body: { name: "ci-token" } }, "token ci-token");
    await admin(
      "POST",
      "/api/v1/devices/:name/web",
      { params: { name: "press-7" }, body: { name: "old-hmi", url: "http://192.168.1.10/" } },
      "web target old-hmi",
    );

    // Listeners that only pretend: the routes' rules and records are under test here, not sockets.
    ctx.publisher = {
      host: "127.0.0.1",
      range: { low: 15000, high: 15099 },
      open: () => Promise.resolve(),
      close: () => {},
      stats: () => undefined,
      dataLog: () => "",
    };
    // One recording of acme's, as a relay would keep it: another account reads it as missing.
    ctx.recordings = {
      list: () => [],
      text: (accountId, id) => (accountId === acme.id && id === MATRIX_RECORDING ? "# recording\n" : undefined),
    };
    for (const [name, port] of [
      ["matrix-pub", 15001],
      ["doomed-pub", 15002],
    ] as const) {
      await admin(
        "POST",
        "/api/v1/published-ports",
        { body: { device: "press-7", port, target: "192.168.1.10:502", name, logData: true } },
        `published ${name}`,
      );
    }

    // A closed port: a test message fails at once, which is still an answer.
    for (const name of ["matrix-hook", "doomed-hook"])
      await admin("POST", "/api/v1/notifications/channels", { body: { kind: "webhook", name, url: "http://127.0.0.1:9/" } }, `channel ${name}`);
    const hook = (await ctx.db.selectFrom("notify_channels").select("id").where("name", "=", "matrix-hook").executeTakeFirstOrThrow()).id;
    await createNotifyRule(ctx.db, {
      id: MATRIX_RULE_ID,
      account_id: acme.id,
      event: "device.offline",
      channel_id: hook,
      device_id: null,
      delay_seconds: 60,
      min_severity: null,
      created_at: now.toISOString(),
    });

    const box = await admin("POST", "/api/v1/devices", { body: { name: "agent-box" } }, "device agent-box");
    const registered = await must(
      call("POST", "/api/v1/agent/register", { body: { activationKey: box.json.activationKey, csr: await csr() } }),
      "register agent-box",
    );
    const box2 = await admin("POST", "/api/v1/devices", { body: { name: "agent-box-2" } }, "device agent-box-2");
    // A session of bob's with a known id, for the session routes to end.
    const later = new Date(now.getTime() + 3_600_000).toISOString();
    await ctx.db
      .insertInto("sessions")
      .values({
        id: MATRIX_SESSION,
        user_id: base.users.bob.id,
        token_hash: "matrix-session",
        created_at: now.toISOString(),
        expires_at: later,
        last_used_at: now.toISOString(),
        source: "192.0.2.7",
        kind: "cli",
      })
      .execute();
    // On bob's session: a stream whose session does not exist is cut as soon as anything sweeps.
    base.access.live.streams.push(MATRIX_STREAM(acme.id, base, (await authenticate(ctx, tokens.bob, "fixture")).sessionId));

    return {
      base,
      tokens,
      otpSecrets,
      deviceCertificate: new X509Certificate(registered.json.certificate as string),
      registration: { activationKey: box2.json.activationKey as string, csr: await csr() },
      call,
      login,
      denials: async (actor) => {
        await ctx.work.drain(5_000);
        return ctx.db.selectFrom("audit").selectAll().where("actor", "=", actor).where("result", "=", "denied").orderBy("seq").execute();
      },
      close: () => base.close(),
    };
  } catch (err) {
    await base.close();
    throw err;
  }
}
