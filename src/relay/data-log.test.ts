import assert from "node:assert/strict";
import { test } from "node:test";
import { DataLog } from "./data-log.js";

const T = new Date("2030-01-01T00:00:00.000Z");

test("the data log keeps each chunk with its connection and direction, as hex", () => {
  const log = new DataLog(100);
  log.add(1, "up", Buffer.from([0, 1, 0xff]), T);
  log.add(1, "down", Buffer.from("ok"), T);
  const lines = log.format("modbus").trimEnd().split("\n");
  assert.match(lines[0]!, /^# data log of modbus: 5 bytes held, 0 older bytes dropped/);
  assert.deepEqual(lines.slice(1), ["2030-01-01T00:00:00.000Z #1 up 3 0001ff", "2030-01-01T00:00:00.000Z #1 down 2 6f6b"]);
});

test("the data log drops the oldest chunks beyond its cap, and keeps the tail of a huge one", () => {
  const log = new DataLog(10);
  log.add(1, "up", Buffer.alloc(6, 1), T);
  log.add(2, "up", Buffer.alloc(6, 2), T);
  assert.equal(log.size, 6);
  assert.match(log.format("x"), /6 bytes held, 6 older bytes dropped/);
  log.add(3, "down", Buffer.alloc(25, 3), T);
  assert.equal(log.size, 10);
  assert.match(log.format("x"), /10 bytes held, 27 older bytes dropped/);
});
