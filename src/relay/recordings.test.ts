import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RecordingStore } from "./recordings.js";

const subject = (id: string, accountId = "acme") => ({ id, accountId, user: "alice", device: "press-7", target: "192.168.1.10:502", startedAt: new Date(0) });

describe("recordings", () => {
  it("keep each way's bytes, capped per stream, and tell what was dropped", () => {
    const store = new RecordingStore(5, 8);
    const log = store.start(subject("s1"));
    log.add(1, "up", Buffer.from("hello"), new Date(1));
    log.add(1, "down", Buffer.from("world"), new Date(2));
    store.end("acme", "s1", new Date(3));
    const [info] = store.list("acme");
    assert.deepEqual(
      { ...info },
      {
        id: "s1",
        user: "alice",
        device: "press-7",
        target: "192.168.1.10:502",
        start: new Date(0).toISOString(),
        end: new Date(3).toISOString(),
        bytes: 5,
        dropped: 5,
      },
    );
    assert.match(store.text("acme", "s1") ?? "", /#1 down 5 776f726c64$/m);
  });

  it("keep the newest streams per account, and one account never reads another's", () => {
    const store = new RecordingStore(2, 1024);
    for (const id of ["a", "b", "c"]) store.start(subject(id));
    store.start(subject("z", "other"));
    assert.deepEqual(
      store.list("acme").map((r) => r.id),
      ["c", "b"],
    );
    assert.equal(store.text("acme", "a"), undefined);
    assert.equal(store.text("acme", "z"), undefined);
    assert.equal(store.list("other")[0]?.end, null);
  });
});
