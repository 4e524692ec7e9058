import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isFernlinkError } from "../protocol/errors.js";
import { type ChangeEvent, type ChangeListener, createChangeFeed } from "./change-feed.js";

const up = (accountId: string, device = "press-7"): ChangeEvent => ({ kind: "devices", accountId, deviceId: `id-${device}`, device, online: true });
const opened = (accountId: string): ChangeEvent => ({ kind: "streams", accountId, streamId: "s-1", userId: "u-1", change: "opened" });

function recorder(): ChangeListener & { events: ChangeEvent[]; closed: number } {
  const r = { events: [] as ChangeEvent[], closed: 0, onChange: (e: ChangeEvent) => void r.events.push(e), onClose: () => void r.closed++ };
  return r;
}

describe("the change feed", () => {
  it("tells each listener only the events of its own account", () => {
    const feed = createChangeFeed();
    const acme = recorder();
    const other = recorder();
    feed.subscribe("acme", acme);
    feed.subscribe("other", other);
    feed.publish(up("acme"));
    feed.publish(opened("other"));
    assert.deepEqual(acme.events, [up("acme")]);
    assert.deepEqual(other.events, [opened("other")]);
  });

  it("stops telling a listener once it unsubscribed, and forgets the account", () => {
    const feed = createChangeFeed();
    const r = recorder();
    const unsubscribe = feed.subscribe("acme", r);
    assert.equal(feed.size("acme"), 1);
    unsubscribe();
    unsubscribe();
    feed.publish(up("acme"));
    assert.deepEqual(r.events, []);
    assert.equal(feed.size(), 0);
    assert.equal(feed.size("acme"), 0);
  });

  it("counts the same listener subscribed twice as two subscriptions", () => {
    const feed = createChangeFeed();
    const r = recorder();
    const first = feed.subscribe("acme", r);
    feed.subscribe("acme", r);
    feed.publish(up("acme"));
    assert.equal(r.events.length, 2);
    first();
    feed.publish(up("acme"));
    assert.equal(r.events.length, 3);
    assert.equal(feed.size(), 1);
  });

  it("leaves no listener behind after many subscribe and unsubscribe rounds", () => {
    const feed = createChangeFeed({ maxListeners: 10, maxPerAccount: 10 });
    for (let i = 0; i < 1000; i++) feed.subscribe(`account-${i % 7}`, recorder())();
    assert.equal(feed.size(), 0);
    for (let i = 0; i < 10; i++) feed.subscribe("acme", recorder());
    assert.equal(feed.size("acme"), 10);
  });

  it("refuses a subscription beyond the account's cap as throttled, and takes one again after an unsubscribe", () => {
    const feed = createChangeFeed({ maxPerAccount: 2 });
    const first = feed.subscribe("acme", recorder());
    feed.subscribe("acme", recorder());
    assert.throws(
      () => feed.subscribe("acme", recorder()),
      (err) => isFernlinkError(err) && err.code === "throttled",
    );
    feed.subscribe("other", recorder());
    first();
    feed.subscribe("acme", recorder());
    assert.equal(feed.size(), 3);
  });

  it("refuses a subscription beyond the server's cap whatever the account", () => {
    const feed = createChangeFeed({ maxListeners: 2 });
    feed.subscribe("a", recorder());
    feed.subscribe("b", recorder());
    assert.throws(
      () => feed.subscribe("c", recorder()),
      (err) => isFernlinkError(err) && err.code === "throttled",
    );
  });

  it("keeps telling the others when one listener throws, and reports the error", () => {
    const errors: unknown[] = [];
    const feed = createChangeFeed({ onListenerError: (err) => errors.push(err) });
    feed.subscribe("acme", {
      onChange: () => {
        throw new Error("boom");
      },
    });
    const r = recorder();
    feed.subscribe("acme", r);
    feed.publish(up("acme"));
    assert.equal(r.events.length, 1);
    assert.equal(errors.length, 1);
  });

  it("lets a listener unsubscribe while it is being told", () => {
    const feed = createChangeFeed();
    const r = recorder();
    let unsubscribe = (): void => {};
    unsubscribe = feed.subscribe("acme", { onChange: () => unsubscribe() });
    feed.subscribe("acme", r);
    feed.publish(up("acme"));
    feed.publish(up("acme"));
    assert.equal(r.events.length, 2);
    assert.equal(feed.size("acme"), 1);
  });

  it("tells every listener once when it closes, drops them, and ends later subscriptions at once", () => {
    const feed = createChangeFeed();
    const a = recorder();
    const b = recorder();
    const unsubscribeA = feed.subscribe("acme", a);
    feed.subscribe("other", b);
    feed.close();
    feed.close();
    assert.deepEqual([a.closed, b.closed], [1, 1]);
    assert.equal(feed.size(), 0);
    unsubscribeA();
    assert.equal(feed.size(), 0);
    feed.publish(up("acme"));
    assert.deepEqual(a.events, []);
    const late = recorder();
    feed.subscribe("acme", late);
    assert.equal(late.closed, 1);
    assert.equal(feed.size(), 0);
  });
});
