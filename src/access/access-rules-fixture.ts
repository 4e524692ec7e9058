import { openTestAccess, type TEST_BACKENDS, type TestAccess } from "./access-test-kit.js";
import { createApiApp } from "./api/app.js";
import { hashPassword } from "./password.js";
import { initAccount } from "./sessions.js";
import { findAccountByName } from "./store/accounts.js";
import { createDevice } from "./store/devices.js";
import type { AuditRow, Device, User } from "./store/schema.js";
import { createUser } from "./store/users.js";

/** Password of every user of the fixture. */
export const FIXTURE_PASSWORD = "correct horse battery staple";

/** What an in-process API call answered. */
export interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: the tests read the API's JSON loosely and assert on its shape
  json: any;
}

/**
 * Two accounts for the access-rule tests: acme (alice admin; bob and carol members;
 * press-7 on 192.168.1.0/24, press-8 on 192.168.2.0/24) and other (olga admin; mill-3).
 */
export interface AccessFixture {
  access: TestAccess;
  app: ReturnType<typeof createApiApp>;
  users: Record<"alice" | "bob" | "carol" | "olga", User>;
  devices: Record<"press7" | "press8" | "mill3", Device>;
  call(method: string, path: string, options?: { token?: string; body?: unknown }): Promise<Reply>;
  /** Logs in and returns the session token. */
  login(user: "alice" | "bob" | "carol" | "olga"): Promise<string>;
  /** Audit rows written so far (after pending writes finished), oldest first. */
  auditRows(): Promise<AuditRow[]>;
  close(): Promise<void>;
}

/** Builds the fixture on a fresh database of `backend`. */
export async function openAccessFixture(backend: (typeof TEST_BACKENDS)[number]): Promise<AccessFixture> {
  const access = await openTestAccess(backend);
  const { ctx } = access;
  await initAccount(ctx, { account: "acme", user: "alice", password: FIXTURE_PASSWORD });
  await initAccount(ctx, { account: "other", user: "olga", password: FIXTURE_PASSWORD });
  const acme = (await findAccountByName(ctx.db, "acme"))!;
  const other = (await findAccountByName(ctx.db, "other"))!;
  const passwordHash = await hashPassword(FIXTURE_PASSWORD);
  const now = ctx.now();
  const member = (name: string) => createUser(ctx.db, { accountId: acme.id, name, passwordHash, role: "member", now });
  const byName = async (accountId: string, name: string) =>
    await ctx.db.selectFrom("users").selectAll().where("account_id", "=", accountId).where("name", "=", name).executeTakeFirstOrThrow();
  const users = { alice: await byName(acme.id, "alice"), bob: await member("bob"), carol: await member("carol"), olga: await byName(other.id, "olga") };
  const devices = {
    press7: await createDevice(ctx.db, { accountId: acme.id, name: "press-7", lan: ["192.168.1.0/24"], now }),
    press8: await createDevice(ctx.db, { accountId: acme.id, name: "press-8", lan: ["192.168.2.0/24"], now }),
    mill3: await createDevice(ctx.db, { accountId: other.id, name: "mill-3", lan: ["10.0.0.0/8"], now }),
  };
  const app = createApiApp(ctx);
  const call = async (method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<Reply> => {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (options.token) headers["authorization"] = `Bearer ${options.token}`;
    const res = await app.request(path, { method, headers, ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}) });
    return { status: res.status, json: await res.json() };
  };
  const accountOf = { alice: "acme", bob: "acme", carol: "acme", olga: "other" } as const;
  return {
    access,
    app,
    users,
    devices,
    call,
    login: async (user) => {
      const res = await call("POST", "/api/v1/login", { body: { account: accountOf[user], user, password: FIXTURE_PASSWORD } });
      if (res.status !== 200) throw new Error(`login of ${user} failed: ${JSON.stringify(res.json)}`);
      return res.json.token as string;
    },
    auditRows: async () => {
      await ctx.work.drain(5_000);
      return ctx.db.selectFrom("audit").selectAll().orderBy("seq").execute();
    },
    close: () => access.close(),
  };
}
