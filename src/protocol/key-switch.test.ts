import assert from "node:assert/strict";
import { test } from "node:test";
import { parseSwitchText, SwitchReport } from "./key-switch.js";

test("a switch file's word is read whatever its case and surrounding whitespace", () => {
  assert.equal(parseSwitchText("off"), "off");
  assert.equal(parseSwitchText("  Online\n"), "online");
  assert.equal(parseSwitchText("REMOTE\r\n"), "remote");
});

test("anything but one of the three words is not a switch position", () => {
  for (const text of ["", "on", "remote access", "1", "off\noff", "of f"]) assert.equal(parseSwitchText(text), undefined, JSON.stringify(text));
});

test("a switch report takes only a known state and no other field", () => {
  assert.ok(SwitchReport.safeParse({ state: "online" }).success);
  assert.ok(!SwitchReport.safeParse({ state: "on" }).success);
  assert.ok(!SwitchReport.safeParse({ state: "off", extra: 1 }).success);
});
