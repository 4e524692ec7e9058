import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { BackgroundWork } from "./background-work.js";

describe("BackgroundWork", () => {
  it("drains work that was pending, and work started while draining", async () => {
    const work = new BackgroundWork();
    const done: string[] = [];
    void work.track(
      sleep(30).then(() => {
        done.push("first");
        void work.track(sleep(30).then(() => done.push("second")));
      }),
    );
    await work.drain(1000);
    assert.deepEqual(done, ["first", "second"]);
  });

  it("stops waiting after the timeout and survives rejected work", async () => {
    const work = new BackgroundWork();
    void work.track(Promise.reject(new Error("write failed"))).catch(() => {});
    const forever = work.track(new Promise(() => {}));
    void forever;
    const started = Date.now();
    await work.drain(50);
    assert.ok(Date.now() - started < 1000);
  });
});
