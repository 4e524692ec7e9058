import assert from "node:assert/strict";
import { createSecretKey, randomBytes } from "node:crypto";
import { test } from "node:test";
import type { ChainedFields } from "./audit-chain.js";
import { canonicalEncoding, chainOf, GENESIS_HASH, hashMatches, recordHash, SYSTEM_CHAIN } from "./audit-chain.js";

const KEY = createSecretKey(randomBytes(32));

const RECORD: ChainedFields = {
  seq: 7,
  id: "3f1c",
  at: "2026-11-27T10:00:00.000Z",
  account_id: "acc-1",
  actor: "alice",
  source: "10.0.0.9",
  action: "stream",
  object: "s-1",
  result: "ok",
  reason: null,
  device: "press-7",
  target: "192.168.1.10:502",
  started_at: "2026-11-27T09:59:00.000Z",
  ended_at: "2026-11-27T10:00:00.000Z",
  bytes_up: 12,
  bytes_down: 25,
  token: null,
};

test("the hash is a keyed SHA-256 of the previous hash and the record", () => {
  const hash = recordHash(KEY, GENESIS_HASH, RECORD);
  assert.match(hash, /^[0-9a-f]{64}$/);
  assert.equal(recordHash(KEY, GENESIS_HASH, { ...RECORD }), hash);
  assert.notEqual(recordHash(createSecretKey(randomBytes(32)), GENESIS_HASH, RECORD), hash, "another key gives another hash");
  assert.notEqual(recordHash(KEY, "1".repeat(64), RECORD), hash, "another predecessor gives another hash");
  assert.ok(hashMatches(KEY, GENESIS_HASH, hash, RECORD));
});

test("changing any single field changes the hash", () => {
  const base = recordHash(KEY, GENESIS_HASH, RECORD);
  for (const field of Object.keys(RECORD) as (keyof ChainedFields)[]) {
    const value = RECORD[field];
    const changed = { ...RECORD, [field]: typeof value === "number" ? value + 1 : value === null ? "x" : `${value}x` };
    assert.notEqual(recordHash(KEY, GENESIS_HASH, changed), base, field);
  }
});

test("null and empty text encode differently, as do fields shifted between columns", () => {
  assert.notEqual(canonicalEncoding({ ...RECORD, reason: null }), canonicalEncoding({ ...RECORD, reason: "" }));
  assert.notEqual(canonicalEncoding({ ...RECORD, actor: "al", source: "ice10.0.0.9" }), canonicalEncoding({ ...RECORD, actor: "alice", source: "10.0.0.9" }));
});

test("a record without an API token hashes exactly as records did before tokens were recorded", () => {
  const { token: _none, ...before } = RECORD;
  assert.equal(canonicalEncoding(RECORD), canonicalEncoding(before));
  assert.equal(
    canonicalEncoding(RECORD),
    '["fernlink-audit-v2",7,"3f1c","2026-11-27T10:00:00.000Z","acc-1","alice","10.0.0.9","stream","s-1","ok",null,"press-7",' +
      '"192.168.1.10:502","2026-11-27T09:59:00.000Z","2026-11-27T10:00:00.000Z",12,25,null]',
  );
  assert.ok(hashMatches(KEY, GENESIS_HASH, recordHash(KEY, GENESIS_HASH, before), RECORD), "a record stored before the token column verifies with token null");
  const legacy = { ...RECORD, legacy_seq: 41 };
  assert.equal(canonicalEncoding(legacy), canonicalEncoding({ ...before, legacy_seq: 41 }));
});

test("a token name added, altered or removed after the fact no longer matches the hash", () => {
  const withToken = { ...RECORD, token: "ci-deploy" };
  const hash = recordHash(KEY, GENESIS_HASH, withToken);
  assert.ok(hashMatches(KEY, GENESIS_HASH, hash, withToken));
  assert.equal(hashMatches(KEY, GENESIS_HASH, hash, { ...RECORD, token: "ci-deploy2" }), false, "token altered");
  assert.equal(hashMatches(KEY, GENESIS_HASH, hash, RECORD), false, "token removed");
  assert.equal(hashMatches(KEY, GENESIS_HASH, recordHash(KEY, GENESIS_HASH, RECORD), withToken), false, "token added");
  assert.notEqual(canonicalEncoding({ ...RECORD, token: "" }), canonicalEncoding(RECORD), "an empty token name is not none");
  const legacy = { ...RECORD, legacy_seq: 41 };
  assert.equal(
    hashMatches(KEY, GENESIS_HASH, recordHash(KEY, GENESIS_HASH, legacy), { ...legacy, token: "ci-deploy" }),
    false,
    "token added to a record from before per-account numbering",
  );
});

test("a count set on a record from before per-account numbering no longer matches the hash", () => {
  const legacy = { ...RECORD, legacy_seq: 41, count: null };
  const hash = recordHash(KEY, GENESIS_HASH, legacy);
  assert.ok(hashMatches(KEY, GENESIS_HASH, hash, legacy));
  assert.equal(hashMatches(KEY, GENESIS_HASH, hash, { ...legacy, count: 5000 }), false);
});

test("a missing or malformed stored hash never matches", () => {
  assert.equal(hashMatches(KEY, null, recordHash(KEY, GENESIS_HASH, RECORD), RECORD), false);
  assert.equal(hashMatches(KEY, GENESIS_HASH, null, RECORD), false);
  assert.equal(hashMatches(KEY, GENESIS_HASH, "not hex", RECORD), false);
});

test("records without an account belong to the system chain", () => {
  assert.equal(chainOf(null), SYSTEM_CHAIN);
  assert.equal(chainOf("acc-1"), "acc-1");
});

/**
 * A golden vector, computed outside this code base (Python's hmac and json) from the format
 * described in audit-chain.ts: a fixed key and a chain of three records, one of each current
 * encoding, plus a record from before per-account numbering. Any change to the encoding, the
 * field order or the HMAC fails here, as it would fail every stored chain.
 */
test("a fixed chain gives the hashes written out here", () => {
  const key = createSecretKey(Buffer.from(Array.from({ length: 32 }, (_, i) => i)));
  const login: ChainedFields = {
    seq: 1,
    id: "a1",
    at: "2026-11-27T10:00:00.000Z",
    account_id: "acc-1",
    actor: "alice",
    source: "10.0.0.9",
    action: "login",
    object: null,
    result: "ok",
    reason: null,
    device: null,
    target: null,
    started_at: null,
    ended_at: null,
    bytes_up: null,
    bytes_down: null,
  };
  const stream: ChainedFields = {
    ...login,
    seq: 2,
    id: "a2",
    at: "2026-11-27T10:00:05.000Z",
    action: "stream",
    object: "s-1",
    device: "press-7",
    target: "192.168.1.10:502",
    started_at: "2026-11-27T10:00:01.000Z",
    ended_at: "2026-11-27T10:00:05.000Z",
    bytes_up: 12,
    bytes_down: 25,
    token: "ci-deploy",
  };
  const refusals: ChainedFields = {
    ...login,
    seq: 3,
    id: "a3",
    at: "2026-11-27T10:01:00.000Z",
    action: "stream",
    result: "denied",
    reason: "target not allowed",
    device: "press-7",
    target: "192.168.1.11:502",
    count: 40,
  };
  const h1 = "3c894ee344ad7a58b5d566de73280bb3bceaa2d60c226fa3a0f2790556abebc9";
  const h2 = "4ac76e288c870a7c61c4ceeb2ba3af80c52ef4b59270c68654dd30a1d8f4df3c";
  const h3 = "79703471121137f235d29bc8883537c292c3e60ad9a7bd54b6c5de5fb2958353";
  assert.equal(
    canonicalEncoding(stream),
    '["fernlink-audit-v3",2,"a2","2026-11-27T10:00:05.000Z","acc-1","alice","10.0.0.9","stream","s-1","ok",null,"press-7",' +
      '"192.168.1.10:502","2026-11-27T10:00:01.000Z","2026-11-27T10:00:05.000Z",12,25,null,"ci-deploy"]',
  );
  assert.equal(recordHash(key, GENESIS_HASH, login), h1);
  assert.equal(recordHash(key, h1, stream), h2);
  assert.equal(recordHash(key, h2, refusals), h3);
  assert.ok(hashMatches(key, h2, h3, refusals));
  assert.equal(recordHash(key, GENESIS_HASH, { ...login, legacy_seq: 17 }), "13fe3fe7ce62c4d7898d47ffa6a70957cabb3d790556b40e462d026aef279c88");
});
