import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { FernlinkError } from "../protocol/errors.js";
import { REMOTE_ACCESS_OFF_MESSAGE } from "../protocol/key-switch.js";
import { StreamGate } from "./stream-gate.js";

describe("stream gate", () => {
  it("lets streams through only while open, refusing with the remote-access-off code and the on-site message", () => {
    let open = true;
    const gate = new StreamGate(() => open);
    gate.check();
    open = false;
    assert.throws(
      () => gate.check(),
      (err: unknown) => err instanceof FernlinkError && err.code === "remote-access-off" && err.status === 403 && err.message === REMOTE_ACCESS_OFF_MESSAGE,
    );
  });

  it("closes every open stream it holds, and forgets streams that closed by themselves", async () => {
    const gate = new StreamGate(() => true);
    const a = new PassThrough();
    const b = new PassThrough();
    const c = new PassThrough();
    for (const s of [a, b, c]) {
      s.on("error", () => {});
      gate.track(s);
    }
    c.destroy();
    await new Promise((r) => setImmediate(r));
    assert.equal(gate.size, 2);
    assert.equal(gate.closeAll(), 2);
    assert.ok(a.destroyed && b.destroyed);
    assert.equal((a.errored as FernlinkError | null)?.code, "remote-access-off");
    assert.equal(gate.size, 0);
  });
});
