import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { LaneBoard, laneNonce } from "./lane-board.js";

test("lane nonces are 128-bit base64url and never repeat, across the pool's refills", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2_000; i++) {
    const nonce = laneNonce();
    assert.match(nonce, /^[A-Za-z0-9_-]{22}$/);
    assert.ok(!seen.has(nonce), `nonce ${nonce} came twice`);
    seen.add(nonce);
  }
});

test("a lane is taken once, on the agent hop only from the device it was offered to", () => {
  const board = new LaneBoard();
  const taken: string[] = [];
  const { nonce } = board.offer("dev-1", () => taken.push("dev-1's stream"));
  assert.equal(board.deliver(nonce, "dev-2", new PassThrough()), false);
  assert.equal(board.deliver(nonce, "dev-1", new PassThrough()), true);
  assert.equal(board.deliver(nonce, "dev-1", new PassThrough()), false);
  assert.deepEqual(taken, ["dev-1's stream"]);

  const withdrawn = board.offer(undefined, () => taken.push("client's stream"));
  withdrawn.withdraw();
  assert.equal(board.deliver(withdrawn.nonce, undefined, new PassThrough()), false);
  assert.deepEqual(taken, ["dev-1's stream"]);
});
