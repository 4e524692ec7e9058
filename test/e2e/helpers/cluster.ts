import { copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { type AccountSpec, Site } from "./fernlink.js";
import { assertExit, PASSWORD, type Sandbox } from "./processes.js";

/**
 * Two access nodes on one PostgreSQL schema (`db`, with `?schema=`): A creates the account of
 * `admin`, B starts with A's cluster key; `admin` is logged in on both. `args`: further
 * `fernlink server` flags of each node.
 */
export async function startTwoNodes(sb: Sandbox, db: string, admin: AccountSpec, args: { a?: string[]; b?: string[] } = {}): Promise<{ a: Site; b: Site }> {
  const a = await Site.start(sb, [admin], { db, serverArgs: args.a ?? [] });
  await mkdir(sb.path("data-b"), { mode: 0o700 });
  await copyFile(join(a.dataDir, "cluster-key"), join(sb.path("data-b"), "cluster-key"));
  const b = await Site.start(sb, [], { db, dataName: "data-b", serverArgs: args.b ?? [] });
  await a.login(admin);
  await b.login(admin);
  return { a, b };
}

/**
 * Adds member `member` on A, then on B puts it in group service-team with a connect rule on
 * pool line-3 holding `device`; the member logs in on A.
 */
export async function memberWithRule(nodes: { a: Site; b: Site }, admin: string, member: AccountSpec, device: string): Promise<void> {
  const { a, b } = nodes;
  assertExit(await a.cli(admin, ["user", "add", member.user, "--role", "member"], { env: { FERNLINK_NEW_PASSWORD: PASSWORD } }), 0);
  await b.ok(admin, ["group", "add", "service-team"]);
  await b.ok(admin, ["group", "members", "service-team", "--add", member.user]);
  await b.ok(admin, ["pool", "add", "line-3"]);
  await b.ok(admin, ["pool", "devices", "line-3", "--add", device]);
  await b.ok(admin, ["access", "grant", "--group", "service-team", "--pool", "line-3"]);
  await a.login(member);
}
