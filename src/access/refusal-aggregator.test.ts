import assert from "node:assert/strict";
import { test } from "node:test";
import type { AggregatedRefusal, Refusal } from "./refusal-aggregator.js";
import { RefusalAggregator } from "./refusal-aggregator.js";

const T0 = new Date("2030-01-01T00:00:00.000Z");
const OPTIONS = { windowMs: 60_000, individual: { login: 3, "device.register": 1 }, maxKeys: 4 };

function setup() {
  let clock = T0;
  const written: AggregatedRefusal[] = [];
  const aggregator = new RefusalAggregator(
    (r) => written.push(r),
    OPTIONS,
    () => clock,
  );
  const refusal = (extra: Partial<Refusal> = {}): Refusal => ({
    accountId: null,
    actor: null,
    source: "10.0.0.9",
    action: "device.register",
    object: null,
    result: "denied",
    reason: "activation-key-invalid",
    at: clock,
    ...extra,
  });
  return { aggregator, written, refusal, advance: (ms: number) => (clock = new Date(clock.getTime() + ms)) };
}

test("a flood of one source and reason is written once on its own, then as one record with the rest's count", () => {
  const { aggregator, written, refusal, advance } = setup();
  const own = Array.from({ length: 2000 }, () => aggregator.admit(refusal()));
  assert.equal(own.filter(Boolean).length, 1);
  assert.equal(written.length, 0, "the aggregate waits for the end of the minute");
  advance(60_000);
  aggregator.admit(refusal());
  assert.equal(written.length, 1);
  assert.equal(written[0]!.count, 1999);
  assert.equal(written[0]!.source, "10.0.0.9");
});

test("logins keep their first few per source and reason as records of their own, and sources and reasons count apart", () => {
  const { aggregator, refusal } = setup();
  const login = (extra: Partial<Refusal>) => aggregator.admit(refusal({ action: "login", accountId: "acme", ...extra }));
  assert.deepEqual(
    [1, 2, 3, 4].map((i) => login({ actor: `u${i}`, reason: "wrong password" })),
    [true, true, true, false],
  );
  assert.equal(login({ reason: "unknown user" }), true);
  assert.equal(login({ source: "10.0.0.10", reason: "wrong password" }), true);
});

test("reasons that differ only in times or numbers count as one reason", () => {
  const { aggregator, refusal } = setup();
  const throttled = (n: number) => aggregator.admit(refusal({ action: "login", reason: `too many failed logins from 10.0.0.9; try again in ${n} minutes` }));
  assert.deepEqual([14, 13, 12, 11].map(throttled), [true, true, true, false]);
});

test("an aggregate keeps the actor only when every refusal it counts had the same", () => {
  const { aggregator, written, refusal } = setup();
  for (const actor of ["a", "b", "c", "d", "e"]) aggregator.admit(refusal({ action: "login", actor, reason: "unknown user" }));
  for (let i = 0; i < 5; i++) aggregator.admit(refusal({ action: "login", actor: "bob", reason: "wrong password" }));
  aggregator.flush();
  assert.deepEqual(
    written.map((w) => [w.reason, w.actor, w.count]),
    [
      ["unknown user", null, 2],
      ["wrong password", "bob", 2],
    ],
  );
});

test("actions it does not cover are always written on their own", () => {
  const { aggregator, refusal } = setup();
  assert.equal(aggregator.covers("device.add"), false);
  for (let i = 0; i < 10; i++) assert.equal(aggregator.admit(refusal({ action: "device.add" })), true);
});

test("past the limit of tracked sources, refusals of new sources count together under source *", () => {
  const { aggregator, written, refusal } = setup();
  for (let i = 0; i < 4; i++) assert.equal(aggregator.admit(refusal({ source: `10.0.1.${i}` })), true);
  for (let i = 4; i < 100; i++) assert.equal(aggregator.admit(refusal({ source: `10.0.1.${i}` })), false);
  aggregator.flush();
  assert.deepEqual(
    written.map((w) => [w.source, w.count]),
    [["*", 96]],
  );
});

test("flush writes what is still counted, and the sum of own records and counts is every refusal", () => {
  const { aggregator, written, refusal, advance } = setup();
  let own = 0;
  for (let i = 0; i < 500; i++) {
    if (aggregator.admit(refusal())) own++;
    advance(500);
  }
  aggregator.flush();
  assert.equal(own + written.reduce((sum, w) => sum + w.count, 0), 500);
  assert.ok(own + written.length <= 2 * 5, `${own} own records and ${written.length} aggregates over 250 s`);
  assert.ok(written.every((w) => w.firstAt <= w.at));
});

test("addresses of one IPv6 /64 count as one source", () => {
  const { aggregator, refusal } = setup();
  assert.equal(aggregator.admit(refusal({ source: "2001:db8:1:2::1" })), true);
  assert.equal(aggregator.admit(refusal({ source: "2001:db8:1:2::2" })), false);
  assert.equal(aggregator.admit(refusal({ source: "2001:db8:1:3::1" })), true);
});
