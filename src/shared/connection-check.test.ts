import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatCheckReport } from "./connection-check.js";

describe("the check's table", () => {
  it("lines up every check, then says what to ask for and the verdict", () => {
    const text = formatCheckReport({
      server: "https://fernlink.example.com",
      proxy: "http://proxy.plant.local:3128",
      passed: false,
      checks: [
        { name: "dns", result: "passed", detail: "fernlink.example.com → 203.0.113.7" },
        { name: "proxy", result: "passed", detail: "lets CONNECT through" },
        { name: "tls", result: "blocked", detail: 'issued by "CN=Plant Inspection CA"', fix: "an exception from TLS inspection for fernlink.example.com" },
        { name: "websocket", result: "warning", detail: "does not get through", fix: "WebSocket upgrades" },
        { name: "time", result: "skipped", detail: "no answer" },
      ],
    });
    assert.equal(
      text,
      [
        "fernlink check https://fernlink.example.com via proxy http://proxy.plant.local:3128",
        "  dns        passed   fernlink.example.com → 203.0.113.7",
        "  proxy      passed   lets CONNECT through",
        '  tls        blocked  issued by "CN=Plant Inspection CA"',
        "  websocket  warning  does not get through",
        "  time       skipped  no answer",
        "",
        "to ask the plant's IT for:",
        "  tls: an exception from TLS inspection for fernlink.example.com",
        "  websocket: WebSocket upgrades",
        "",
        "blocked: Fernlink cannot connect from here until the above is open",
        "",
      ].join("\n"),
    );
  });

  it("says all passed when nothing is blocked, with nothing to ask for", () => {
    const text = formatCheckReport({ server: "https://x", proxy: null, passed: true, checks: [{ name: "tcp", result: "passed", detail: "ok" }] });
    assert.equal(text, "fernlink check https://x\n  tcp  passed   ok\n\nall passed: Fernlink can connect from here\n");
  });
});
