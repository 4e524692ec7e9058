import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseHostPort } from "../protocol/target.js";
import { type AccessModel, canView, decideDeviceAccess, decideStream } from "./access-decision.js";

const A = "acct-a";
const B = "acct-b";

/** acme: alice (admin), bob and carol (members); other: mallory (admin). */
function model(rules: AccessModel["rules"]): AccessModel {
  return {
    users: [
      { id: "alice", accountId: A, role: "admin" },
      { id: "bob", accountId: A, role: "member" },
      { id: "carol", accountId: A, role: "member" },
      { id: "mallory", accountId: B, role: "admin" },
    ],
    devices: [
      { id: "press-7", accountId: A, lan: ["192.168.1.0/24"] },
      { id: "press-8", accountId: A, lan: ["192.168.2.0/24", "fd00::/64"] },
      { id: "mill-3", accountId: B, lan: ["10.0.0.0/8"] },
    ],
    groups: [
      { id: "service", accountId: A, members: ["bob"] },
      { id: "viewers", accountId: A, members: ["bob", "carol"] },
      // A group of the other account that (wrongly) lists bob must not count.
      { id: "foreign", accountId: B, members: ["bob"] },
    ],
    pools: [
      { id: "line-3", accountId: A, devices: ["press-7"] },
      { id: "all", accountId: A, devices: ["press-7", "press-8"] },
      { id: "foreign-pool", accountId: B, devices: ["press-7", "mill-3"] },
    ],
    rules,
  };
}

const rule = (groupId: string, poolId: string, level: "view" | "connect", targets: string[] | null = null, accountId = A) => ({
  accountId,
  groupId,
  poolId,
  level,
  targets,
});

describe("decideDeviceAccess", () => {
  it("gives an admin connect on every device of the account, within its LAN ranges", () => {
    assert.deepEqual(decideDeviceAccess(model([]), "alice", "press-8"), { level: "connect", targets: ["192.168.2.0/24", "fd00::/64"] });
  });

  it("leaves the targets of a device without LAN ranges to its agent", () => {
    const m = model([rule("service", "line-3", "connect")]);
    const bare: AccessModel = {
      ...m,
      devices: [...m.devices, { id: "bare", accountId: A, lan: [] }],
      pools: [...m.pools, { id: "bare-pool", accountId: A, devices: ["bare"] }],
    };
    assert.deepEqual(decideDeviceAccess(bare, "alice", "bare").targets, ["0.0.0.0/0", "::/0"]);
    assert.equal(decideStream(decideDeviceAccess(bare, "alice", "bare"), parseHostPort("10.9.8.7:502")).outcome, "allow");
  });

  it("gives an admin nothing on another account's device", () => {
    assert.deepEqual(decideDeviceAccess(model([]), "mallory", "press-7"), { level: "none", targets: [] });
  });

  it("gives a member without a rule nothing", () => {
    assert.equal(decideDeviceAccess(model([]), "bob", "press-7").level, "none");
  });

  it("gives a member the highest level of the rules that match, and the union of the connect rules' targets", () => {
    const m = model([
      rule("viewers", "all", "view"),
      rule("service", "line-3", "connect", ["192.168.1.10:502"]),
      rule("viewers", "line-3", "connect", ["192.168.1.11:80"]),
    ]);
    assert.deepEqual(decideDeviceAccess(m, "bob", "press-7"), { level: "connect", targets: ["192.168.1.10:502", "192.168.1.11:80"] });
    assert.deepEqual(decideDeviceAccess(m, "bob", "press-8"), { level: "view", targets: [] });
    assert.deepEqual(decideDeviceAccess(m, "carol", "press-7"), { level: "connect", targets: ["192.168.1.11:80"] });
  });

  it("reads a connect rule without targets as the device's LAN ranges", () => {
    const m = model([rule("service", "all", "connect"), rule("service", "line-3", "connect", ["192.168.1.10:502"])]);
    assert.deepEqual(decideDeviceAccess(m, "bob", "press-7").targets, ["192.168.1.0/24", "192.168.1.10:502"]);
    assert.deepEqual(decideDeviceAccess(m, "bob", "press-8").targets, ["192.168.2.0/24", "fd00::/64"]);
  });

  it("ignores rules, groups and pools of another account", () => {
    const m = model([rule("foreign", "foreign-pool", "connect", null, B), rule("service", "foreign-pool", "connect"), rule("foreign", "line-3", "connect")]);
    assert.equal(decideDeviceAccess(m, "bob", "press-7").level, "none");
  });
});

describe("decideStream", () => {
  const m = model([rule("viewers", "all", "view"), rule("service", "line-3", "connect", ["192.168.1.10:502", "plc.local:102"])]);
  const cases: [string, string, string, string][] = [
    ["carol", "press-8", "192.168.2.1:80", "forbidden"],
    ["carol", "press-7", "192.168.1.10:502", "forbidden"],
    ["bob", "press-7", "192.168.1.10:502", "allow"],
    ["bob", "press-7", "[::ffff:192.168.1.10]:502", "allow"],
    ["bob", "press-7", "192.168.1.10:503", "target-not-allowed"],
    ["bob", "press-7", "192.168.1.11:502", "target-not-allowed"],
    ["bob", "press-7", "plc.local:102", "allow"],
    ["bob", "press-7", "elsewhere:80", "target-not-allowed"],
    ["bob", "mill-3", "10.0.0.1:22", "not-found"],
    ["mallory", "press-7", "192.168.1.10:502", "not-found"],
    ["alice", "press-7", "192.168.1.99:22", "allow"],
    ["alice", "press-7", "192.168.3.1:22", "target-not-allowed"],
  ];
  for (const [user, device, target, outcome] of cases) {
    it(`answers ${outcome} to ${user} opening ${target} on ${device}`, () => {
      assert.equal(decideStream(decideDeviceAccess(m, user, device), parseHostPort(target)).outcome, outcome);
    });
  }

  it("sends the agent only the entries that admit the stream's port", () => {
    const d = decideStream(decideDeviceAccess(m, "bob", "press-7"), parseHostPort("plc.local:102"));
    assert.deepEqual(d, { outcome: "allow", verdict: "ask-agent", targets: ["plc.local:102"] });
  });

  it("lets view show a device and nothing less", () => {
    assert.equal(canView(decideDeviceAccess(m, "carol", "press-8")), true);
    assert.equal(canView(decideDeviceAccess(m, "bob", "mill-3")), false);
  });
});
