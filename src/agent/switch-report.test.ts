import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SwitchState } from "../protocol/key-switch.js";
import { createLogger } from "../shared/log.js";
import { SwitchReporter } from "./switch-report.js";

const log = createLogger("test", { level: "error" });

describe("switch reporter", () => {
  it("sends a position only when the service does not have it yet", async () => {
    const sent: SwitchState[] = [];
    const reporter = new SwitchReporter(async (s) => void sent.push(s), log);
    await reporter.report("remote");
    await reporter.report("remote");
    await reporter.report("online");
    assert.deepEqual(sent, ["remote", "online"]);
    assert.equal(reporter.confirmed, "online");
  });

  it("sends one report at a time, and the latest position wins", async () => {
    const sent: SwitchState[] = [];
    let release: () => void = () => {};
    const reporter = new SwitchReporter(async (s) => {
      sent.push(s);
      if (s === "remote") await new Promise<void>((r) => (release = r));
    }, log);
    const first = reporter.report("remote");
    void reporter.report("online");
    const last = reporter.report("off");
    assert.deepEqual(sent, ["remote"]);
    release();
    await Promise.all([first, last]);
    assert.deepEqual(sent, ["remote", "off"]);
  });

  it("keeps a failed position unconfirmed, so the next report sends it again", async () => {
    let fail = true;
    const sent: SwitchState[] = [];
    const reporter = new SwitchReporter(async (s) => {
      sent.push(s);
      if (fail) throw new Error("unreachable");
    }, log);
    await reporter.report("online");
    assert.equal(reporter.confirmed, undefined);
    fail = false;
    await reporter.report("online");
    assert.deepEqual(sent, ["online", "online"]);
    assert.equal(reporter.confirmed, "online");
  });
});
