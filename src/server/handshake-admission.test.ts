import assert from "node:assert/strict";
import { test } from "node:test";
import { HandshakeAdmission } from "./handshake-admission.js";

test("agents are refused while max handshakes are under way, and admitted again once one finished", () => {
  const admission = new HandshakeAdmission(2);
  const first = admission.begin("agent");
  const second = admission.begin("other");
  assert.ok(first && second);
  assert.equal(admission.begin("agent"), undefined);
  first();
  assert.ok(admission.begin("agent"), "a finished handshake gives its place back");
});

test("users' and browsers' handshakes are counted but never refused", () => {
  const admission = new HandshakeAdmission(1);
  assert.ok(admission.begin("other"));
  assert.ok(admission.begin("other"));
  assert.equal(admission.count, 2);
  assert.equal(admission.begin("agent"), undefined);
});

test("giving a place back twice gives back one place", () => {
  const admission = new HandshakeAdmission(1);
  const release = admission.begin("agent")!;
  assert.ok(admission.begin("other"));
  release();
  release();
  assert.equal(admission.count, 1);
  assert.equal(admission.begin("agent"), undefined);
});

test("with a cap of 0 every agent is refused", () => {
  assert.equal(new HandshakeAdmission(0).begin("agent"), undefined);
});
