import assert from "node:assert/strict";
import { test } from "node:test";
import { UsageError } from "../protocol/errors.js";
import { parseAlarmListen } from "./alarm-http.js";
import { alarmFromMessage, parseAlarmMqtt } from "./alarm-mqtt.js";

test("the alarm endpoint listens on loopback only", () => {
  assert.deepEqual(parseAlarmListen("127.0.0.1:8125"), { host: "127.0.0.1", port: 8125 });
  assert.deepEqual(parseAlarmListen("[::1]:0"), { host: "::1", port: 0 });
  assert.deepEqual(parseAlarmListen("localhost:9"), { host: "localhost", port: 9 });
  for (const bad of ["0.0.0.0:8125", "192.168.1.5:8125", "127.0.0.1", "127.0.0.1:70000", "[::]:80"])
    assert.throws(() => parseAlarmListen(bad), UsageError, bad);
});

test("an MQTT alarm source is a broker and a topic; a # wildcard stays in the topic", () => {
  assert.deepEqual(parseAlarmMqtt("mqtt://127.0.0.1:1883/plant/alarms"), { broker: "mqtt://127.0.0.1:1883", topic: "plant/alarms" });
  assert.deepEqual(parseAlarmMqtt("mqtts://press7@broker.local/plant/#"), { broker: "mqtts://broker.local", topic: "plant/#", username: "press7" });
  for (const bad of ["mqtt://127.0.0.1:1883", "http://127.0.0.1/x", "mqtt://u:p@h/t"]) assert.throws(() => parseAlarmMqtt(bad), UsageError, bad);
});

test("a message is JSON {severity, text} or plain text, which counts as a warning", () => {
  assert.deepEqual(alarmFromMessage(Buffer.from('{"severity":"critical","text":"hot"}')), { severity: "critical", text: "hot" });
  assert.deepEqual(alarmFromMessage(Buffer.from("door open\n")), { severity: "warning", text: "door open" });
  assert.equal(alarmFromMessage(Buffer.from('{"severity":"loud","text":"x"}')), undefined);
  assert.equal(alarmFromMessage(Buffer.from("{not json")), undefined);
  assert.equal(alarmFromMessage(Buffer.from("  ")), undefined);
});
