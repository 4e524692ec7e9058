import assert from "node:assert/strict";
import { test } from "node:test";
import { connectionWindowFor, streamWindowForRtt, TUNNEL_WINDOW, WINDOW_TUNING } from "./tunnel-settings.js";

test("the stream window follows the hop's round trip between the floor and the ceiling", () => {
  const { minStreamWindowBytes: floor, maxStreamWindowBytes: ceiling, bytesPerSecond } = WINDOW_TUNING;
  assert.equal(streamWindowForRtt(0), floor);
  assert.equal(streamWindowForRtt(0.1), floor, "a loopback or LAN hop gets the floor");
  assert.equal(streamWindowForRtt(2), Math.ceil(bytesPerSecond * 0.002), "in between: rate × round trip");
  assert.equal(streamWindowForRtt(20), ceiling, "a 20 ms hop gets the ceiling");
  assert.equal(streamWindowForRtt(200), ceiling);
  assert.equal(streamWindowForRtt(Number.POSITIVE_INFINITY), ceiling);
  assert.ok(streamWindowForRtt(20) > TUNNEL_WINDOW.streamWindowBytes, "a WAN hop gets more than the window announced at first");
});

test("the connection window is never below the default, nor below one stream's window", () => {
  assert.equal(connectionWindowFor(WINDOW_TUNING.minStreamWindowBytes), TUNNEL_WINDOW.connectionWindowBytes);
  assert.equal(connectionWindowFor(WINDOW_TUNING.maxStreamWindowBytes), WINDOW_TUNING.maxStreamWindowBytes);
});
