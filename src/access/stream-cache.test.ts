import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TOUCH_INTERVAL_MS } from "./session-times.js";
import { AccountMemo, STREAM_CACHE_DEFAULTS } from "./stream-cache.js";

interface Row {
  account: string;
  n: number;
}

/** A memo on a clock the test moves, and a loader that counts its calls. */
function setup(options: { maxEntries?: number; ttlMs?: number } = {}) {
  let now = 1_000;
  const memo = new AccountMemo<Row>({ now: () => now, maxEntries: options.maxEntries ?? 100, ttlMs: options.ttlMs ?? 60_000 });
  const loads: string[] = [];
  const load =
    (key: string, account = "acme") =>
    () => {
      loads.push(key);
      return Promise.resolve<Row>({ account, n: loads.length });
    };
  const rules = { accountOf: (r: Row) => r.account };
  return { memo, loads, load, rules, tick: (ms: number) => (now += ms) };
}

describe("AccountMemo", () => {
  it("answers a second lookup from memory without loading again", async () => {
    const { memo, loads, load, rules } = setup();
    assert.deepEqual(await memo.through("k", load("k"), rules), { account: "acme", n: 1 });
    assert.deepEqual(await memo.through("k", load("k"), rules), { account: "acme", n: 1 });
    assert.deepEqual(loads, ["k"]);
  });

  it("never keeps a miss, so unknown tokens take no room", async () => {
    const { memo, rules } = setup();
    let calls = 0;
    const miss = () => {
      calls++;
      return Promise.resolve(undefined);
    };
    assert.equal(await memo.through("bad", miss, rules), undefined);
    assert.equal(await memo.through("bad", miss, rules), undefined);
    assert.equal(calls, 2);
    assert.equal(memo.size, 0);
  });

  it("drops every entry of a changed account and only those", async () => {
    const { memo, loads, load, rules } = setup();
    await memo.through("a1", load("a1", "acme"), rules);
    await memo.through("a2", load("a2", "acme"), rules);
    await memo.through("o1", load("o1", "other"), rules);
    memo.forgetAccount("acme");
    await memo.through("a1", load("a1", "acme"), rules);
    await memo.through("a2", load("a2", "acme"), rules);
    await memo.through("o1", load("o1", "other"), rules);
    assert.deepEqual(loads, ["a1", "a2", "o1", "a1", "a2"]);
  });

  it("returns but does not keep a value whose load overlapped a change, which may have read the old state", async () => {
    const { memo, loads, rules } = setup();
    let release: () => void = () => {};
    const slow = () => new Promise<Row>((resolve) => (release = () => resolve({ account: "acme", n: loads.push("slow") })));
    const pending = memo.through("k", slow, rules);
    memo.forgetAccount("other-account");
    release();
    assert.deepEqual(await pending, { account: "acme", n: 1 });
    assert.equal(memo.size, 0);
  });

  it("loads again once an entry is older than the time limit", async () => {
    const { memo, loads, load, rules, tick } = setup({ ttlMs: 60_000 });
    await memo.through("k", load("k"), rules);
    tick(59_999);
    await memo.through("k", load("k"), rules);
    tick(1);
    await memo.through("k", load("k"), rules);
    assert.deepEqual(loads, ["k", "k"]);
  });

  it("loads again when the kept value is no longer usable (a session past its end)", async () => {
    const { memo, loads, load } = setup();
    let usable = true;
    const rules = { accountOf: (r: Row) => r.account, usable: () => usable };
    await memo.through("k", load("k"), rules);
    usable = false;
    await memo.through("k", load("k"), rules);
    assert.deepEqual(loads, ["k", "k"]);
  });

  it("keeps at most maxEntries, evicting the least recently used", async () => {
    const { memo, loads, load, rules } = setup({ maxEntries: 2 });
    await memo.through("a", load("a"), rules);
    await memo.through("b", load("b"), rules);
    await memo.through("a", load("a"), rules);
    await memo.through("c", load("c"), rules);
    assert.equal(memo.size, 2);
    await memo.through("a", load("a"), rules);
    await memo.through("b", load("b"), rules);
    assert.deepEqual(loads, ["a", "b", "c", "b"]);
  });

  it("keeps nothing while suspended and starts empty when resumed", async () => {
    const { memo, loads, load, rules } = setup();
    await memo.through("k", load("k"), rules);
    memo.forgetAll(true);
    await memo.through("k", load("k"), rules);
    await memo.through("k", load("k"), rules);
    assert.equal(memo.size, 0);
    memo.forgetAll(false);
    await memo.through("k", load("k"), rules);
    await memo.through("k", load("k"), rules);
    assert.deepEqual(loads, ["k", "k", "k", "k"]);
  });

  it("trusts an entry by default for no longer than a session's last use may lag", () => {
    assert.equal(STREAM_CACHE_DEFAULTS.ttlMs, TOUCH_INTERVAL_MS);
  });
});
