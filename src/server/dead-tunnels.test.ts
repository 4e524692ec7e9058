import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { after, before, describe, test } from "node:test";
import { openTestAccess, TEST_BACKENDS, type TestAccess } from "../access/access-test-kit.js";
import type { ChangeEvent } from "../access/change-feed.js";
import type { Principal } from "../access/context.js";
import { addChannel, addRule } from "../access/notify-channels.js";
import { createAccount } from "../access/store/accounts.js";
import { createDevice, getDevice, markDeviceSeen } from "../access/store/devices.js";
import { listLiveTunnels, putLiveTunnel } from "../access/store/live-tunnels.js";
import { takeOverDeadTunnels } from "./dead-tunnels.js";
import { type HeldTunnel, TunnelBoard, type TunnelSource } from "./tunnel-board.js";

const STALE_MS = 15_000;

/** A relay this node answers for, holding no tunnel. */
function emptySource(relayId: string): TunnelSource {
  return Object.assign(new EventEmitter<{ online: [HeldTunnel]; offline: [HeldTunnel] }>(), {
    relayId,
    get: () => undefined,
    list: () => [],
    disconnect: () => false,
  });
}

for (const backend of TEST_BACKENDS) {
  describe(`the tunnels of a dead relay (${backend})`, () => {
    let t: TestAccess;
    let admin: Principal;
    const ids = new Map<string, string>();
    const events: ChangeEvent[] = [];

    before(async () => {
      t = await openTestAccess(backend);
      const account = await createAccount(t.ctx.db, { name: "acme", now: t.ctx.now() });
      admin = { accountId: account.id, accountName: "acme", userId: "u1", userName: "alice", role: "admin", sessionId: "s1", expiresAt: null, source: "test" };
      await addChannel(t.ctx, admin, { kind: "webhook", name: "hook", url: "http://127.0.0.1:9/hook" });
      await addRule(t.ctx, admin, { event: "device.offline", channel: "hook", delaySeconds: 60 });
      for (const name of ["press-7", "mill-3", "lathe-1", "drill-2"])
        ids.set(name, (await createDevice(t.ctx.db, { accountId: account.id, name, lan: [], now: t.ctx.now() })).id);
      t.ctx.changes.subscribe(account.id, { onChange: (e) => events.push(e) });
    });
    after(() => t?.close());

    const id = (name: string): string => ids.get(name)!;
    const ago = (ms: number): Date => new Date(t.ctx.now().getTime() - ms);

    test("a stale row's device is marked offline once, audited, announced and queued for the offline rule; others are left alone", async () => {
      const lastBeat = ago(20_000);
      // press-7 was on the dead relay a-relay; mill-3 too, but its device row already names b-relay
      // (it came back there first); lathe-1's row on a-relay is still fresh; drill-2 is on our own relay.
      for (const [name, relay, beat] of [
        ["press-7", "a-relay", lastBeat],
        ["mill-3", "a-relay", lastBeat],
        ["lathe-1", "a-relay", ago(5_000)],
        ["drill-2", "b-relay", lastBeat],
      ] as const) {
        await putLiveTunnel(t.ctx.db, { deviceId: id(name), relayId: relay, address: `203.0.113.${name.length}`, since: ago(60_000), now: beat });
        await markDeviceSeen(t.ctx.db, id(name), { at: ago(60_000), address: "x", relayId: name === "mill-3" ? "b-relay" : relay });
      }
      const board = new TunnelBoard();
      board.add(emptySource("b-relay"));
      const options = { board, names: (relayId: string) => relayId, staleMs: STALE_MS };

      assert.equal(await takeOverDeadTunnels(t.ctx, options), 1);
      await t.ctx.work.drain(5_000);
      assert.equal((await getDevice(t.ctx.db, id("press-7")))?.last_seen, lastBeat.toISOString(), "last seen: the last heartbeat");
      assert.deepEqual(
        events.map((e) => (e.kind === "devices" ? [e.device, e.online] : e.kind)),
        [["press-7", false]],
      );
      const downs = await t.ctx.db.selectFrom("audit").selectAll().where("action", "=", "tunnel.down").execute();
      assert.deepEqual(
        downs.map((r) => [r.device, r.result]),
        [["press-7", "ok"]],
      );
      assert.match(downs[0]!.reason ?? "", /relay "a-relay" stopped renewing the tunnel/);
      const queued = await t.ctx.db.selectFrom("notifications").selectAll().execute();
      assert.deepEqual(
        queued.map((n) => [n.device_name, n.event, n.due_at]),
        [["press-7", "device.offline", new Date(lastBeat.getTime() + 60_000).toISOString()]],
      );
      const left = (await listLiveTunnels(t.ctx.db, ago(60_000))).map((r) => r.deviceName).sort();
      assert.deepEqual(left, ["drill-2", "lathe-1"], "the stale rows of a-relay are gone, the fresh one and our own stay");

      assert.equal(await takeOverDeadTunnels(t.ctx, options), 0, "a second sweep finds nothing");
      await t.ctx.work.drain(5_000);
      assert.equal((await t.ctx.db.selectFrom("audit").select("id").where("action", "=", "tunnel.down").execute()).length, 1);
    });
  });
}
