import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { after, before, test } from "node:test";
import { openTestAccess, type TestAccess } from "../access/access-test-kit.js";
import { createAccount } from "../access/store/accounts.js";
import { createDevice } from "../access/store/devices.js";
import { claimStaleTunnels, listLiveTunnels } from "../access/store/live-tunnels.js";
import { BackgroundWork } from "../shared/background-work.js";
import { clusterPresence } from "./cluster-presence.js";
import { type HeldTunnel, TunnelBoard, type TunnelSource } from "./tunnel-board.js";

let t: TestAccess;
let tunnel: HeldTunnel;

before(async () => {
  t = await openTestAccess("SQLite");
  const account = await createAccount(t.ctx.db, { name: "acme", now: t.ctx.now() });
  const device = await createDevice(t.ctx.db, { accountId: account.id, name: "press-7", lan: [], now: t.ctx.now() });
  tunnel = {
    identity: { deviceId: device.id, accountId: account.id, deviceName: "press-7", certSerial: "01" },
    address: "203.0.113.9",
    connectedAt: t.ctx.now(),
  };
});
after(() => t?.close());

/** A relay of this node holding press-7's tunnel. */
function relayWithTunnel(): TunnelSource {
  return Object.assign(new EventEmitter<{ online: [HeldTunnel]; offline: [HeldTunnel] }>(), {
    relayId: "a-relay",
    get: (id: string) => (id === tunnel.identity.deviceId ? tunnel : undefined),
    list: () => [tunnel],
    disconnect: () => false,
  });
}

test("a node whose tunnel row another node took over during a pause writes it again and announces the tunnel online", async () => {
  const board = new TunnelBoard();
  board.add(relayWithTunnel());
  const work = new BackgroundWork();
  const presence = clusterPresence({
    db: t.ctx.db,
    nodeId: "node-a",
    board,
    names: (id) => id,
    local: t.ctx.presence,
    link: { tell: () => Promise.resolve(), closeStream: () => Promise.resolve(undefined) },
    now: t.ctx.now,
    log: t.ctx.log,
    work,
    timing: { heartbeatMs: 20, refreshMs: 1_000 },
  });
  const announced: string[] = [];
  await presence.start();
  try {
    board.on("online", (held) => announced.push(held.identity.deviceName));
    // Another node claims the row as stale: a claim with a cut-off after the row's heartbeat.
    const claimed = await claimStaleTunnels(t.ctx.db, new Date(t.ctx.now().getTime() + 1));
    assert.deepEqual(
      claimed.map((r) => r.relayId),
      ["a-relay"],
    );
    await waitFor(async () => announced.length > 0 && (await listLiveTunnels(t.ctx.db, new Date(0))).length === 1);
    assert.deepEqual(announced, ["press-7"], "announced once");
    assert.equal((await listLiveTunnels(t.ctx.db, new Date(0)))[0]?.relayId, "a-relay");
  } finally {
    await presence.stop();
    await work.drain(2_000);
  }
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
