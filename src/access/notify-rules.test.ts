import assert from "node:assert/strict";
import { test } from "node:test";
import { formatDelay, parseDelay } from "../protocol/notify-events.js";
import { composeMessage, type NotifyEventInput, ruleMatches } from "./notify-rules.js";

const at = new Date("2026-12-05T10:00:00.000Z");
const offline: NotifyEventInput = {
  event: "device.offline",
  accountId: "a",
  deviceId: "d7",
  deviceName: "press-7",
  at,
  key: "k",
  summary: "press-7 is offline",
};
const alarm = (severity: "info" | "warning" | "critical"): NotifyEventInput => ({ ...offline, event: "alarm", severity, summary: "hot" });

test("a rule matches its event on its device, or on every device without one", () => {
  assert.equal(ruleMatches({ event: "device.offline", device_id: null, min_severity: null }, offline), true);
  assert.equal(ruleMatches({ event: "device.offline", device_id: "d7", min_severity: null }, offline), true);
  assert.equal(ruleMatches({ event: "device.offline", device_id: "d8", min_severity: null }, offline), false);
  assert.equal(ruleMatches({ event: "device.online", device_id: null, min_severity: null }, offline), false);
});

test("an alarm rule with a severity takes that severity and worse", () => {
  const rule = { event: "alarm", device_id: null, min_severity: "warning" };
  assert.deepEqual(
    (["info", "warning", "critical"] as const).map((s) => ruleMatches(rule, alarm(s))),
    [false, true, true],
  );
  assert.equal(ruleMatches({ ...rule, min_severity: null }, alarm("info")), true);
});

test("a device rule does not match an account event without a device", () => {
  const locked: NotifyEventInput = { event: "login.locked", accountId: "a", at, key: "k", summary: "bob locked" };
  assert.equal(ruleMatches({ event: "login.locked", device_id: null, min_severity: null }, locked), true);
  assert.equal(ruleMatches({ event: "login.locked", device_id: "d7", min_severity: null }, locked), false);
});

test("the message names account, device and event, and the JSON carries the event's fields", () => {
  const { subject, body } = composeMessage({ ...alarm("critical"), details: { code: 17 } }, "acme");
  assert.equal(subject, "[Fernlink acme] press-7: alarm critical");
  assert.deepEqual(JSON.parse(body), {
    event: "alarm",
    account: "acme",
    device: "press-7",
    at: at.toISOString(),
    text: "hot",
    severity: "critical",
    details: { code: 17 },
  });
});

test("delays take s, m, h, d or bare minutes, and print in their shortest exact form", () => {
  assert.deepEqual(["2s", "5m", "5", "2h", "30d", "0s"].map(parseDelay), [2, 300, 300, 7200, 2_592_000, 0]);
  assert.deepEqual([2, 300, 90, 7200, 2_592_000, 0].map(formatDelay), ["2s", "5m", "90s", "2h", "30d", "0s"]);
  for (const bad of ["", "5 min", "-1m", "1.5h", "400d", "m"]) assert.throws(() => parseDelay(bad), /delay/, bad);
});
