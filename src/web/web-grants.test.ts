import assert from "node:assert/strict";
import { test } from "node:test";
import { GRANT_TTL_MS, LAUNCH_CODE_TTL_MS, MAX_PER_SESSION, WebGrants } from "./web-grants.js";

const subject = { sessionToken: "session-1", targetId: "t1", path: "/hmi/" };
const granted = { sessionToken: "session-1", targetId: "t1" };

test("a launch code is traded once for a grant that stands for the session on its target only", () => {
  const grants = new WebGrants(() => 0);
  const code = grants.issueLaunchCode(subject);
  const redeemed = grants.redeem(code, "t1");
  assert.ok(redeemed);
  assert.equal(redeemed.path, "/hmi/");
  const grant = redeemed.grant;
  assert.equal(grants.redeem(code, "t1"), undefined, "single use");
  assert.deepEqual(grants.lookup(grant, "t1"), granted);
  assert.equal(grants.lookup(grant, "t2"), undefined);
});

test("a launch code brought to another target's host is burnt", () => {
  const grants = new WebGrants(() => 0);
  const code = grants.issueLaunchCode(subject);
  assert.equal(grants.redeem(code, "t2"), undefined);
  assert.equal(grants.redeem(code, "t1"), undefined);
});

test("codes and grants expire", () => {
  let now = 0;
  const grants = new WebGrants(() => now);
  const late = grants.issueLaunchCode(subject);
  const grant = grants.redeem(grants.issueLaunchCode(subject), "t1")!.grant;
  now = LAUNCH_CODE_TTL_MS;
  assert.equal(grants.redeem(late, "t1"), undefined);
  assert.ok(grants.lookup(grant, "t1"));
  assert.equal(grants.holds(grant), true);
  now = GRANT_TTL_MS;
  assert.equal(grants.lookup(grant, "t1"), undefined);
  assert.equal(grants.holds(grant), false);
});

test("a revoked grant is gone", () => {
  const grants = new WebGrants(() => 0);
  const grant = grants.redeem(grants.issueLaunchCode(subject), "t1")!.grant;
  grants.revoke(grant);
  assert.equal(grants.lookup(grant, "t1"), undefined);
});

test("one session opening HMIs in a loop pushes out only its own oldest grants", () => {
  const grants = new WebGrants(() => 0);
  const other = grants.redeem(grants.issueLaunchCode({ sessionToken: "other", targetId: "t1", path: "/" }), "t1")!.grant;
  const mine = Array.from({ length: MAX_PER_SESSION + 5 }, () => grants.redeem(grants.issueLaunchCode(subject), "t1")!.grant);
  assert.ok(grants.holds(other));
  assert.equal(mine.filter((g) => grants.holds(g)).length, MAX_PER_SESSION);
  assert.equal(grants.holds(mine[0]!), false);
  assert.equal(grants.holds(mine.at(-1)!), true);
});
