import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createLogger } from "../shared/log.js";
import { type ChangeEvent, createChangeFeed } from "./change-feed.js";
import { type ClusterFeed, type CommandHandler, createClusterFeed } from "./cluster-feed.js";
import type { ClosedStream } from "./cluster-message.js";

const quiet = createLogger("test", { level: "error", write: () => {} });

/** Nodes joined by an in-memory channel that, like NOTIFY, delivers to the sender too. */
function cluster(names: string[], closable: Record<string, ClosedStream> = {}) {
  const calls: string[] = [];
  const nodes = new Map<string, ClusterFeed>();
  for (const name of names) {
    const commands: CommandHandler = {
      disconnect: (d) => void calls.push(`${name} disconnect ${d}`),
      revalidate: (a) => void calls.push(`${name} revalidate ${a}`),
      endSessions: (a) => void calls.push(`${name} end-sessions ${a}`),
      accessChanged: (a) => void calls.push(`${name} access-changed ${a}`),
      closeStream: (a, s) => (name in closable && closable[name]!.streamId === s && a === "acc" ? closable[name] : undefined),
    };
    const node = createClusterFeed({
      nodeId: name,
      local: createChangeFeed(),
      log: quiet,
      commands,
      closeTimeoutMs: 50,
      send: async (payload) => {
        await Promise.resolve();
        for (const n of nodes.values()) n.receive(payload);
      },
    });
    nodes.set(name, node);
  }
  return { calls, node: (name: string) => nodes.get(name)! };
}

describe("the cluster change feed", () => {
  it("tells a change to listeners on every node, once each", async () => {
    const c = cluster(["a", "b"]);
    const seen: string[] = [];
    for (const name of ["a", "b"]) c.node(name).feed.subscribe("acc", { onChange: (e: ChangeEvent) => seen.push(`${name} ${e.kind}`) });
    c.node("a").feed.publish({ kind: "devices", accountId: "acc", deviceId: "d", device: "press-7", online: true });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(seen.sort(), ["a devices", "b devices"]);
  });

  it("carries commands to every other node, never back to the sender", async () => {
    const c = cluster(["a", "b", "c"]);
    c.node("b").link.tell({ type: "disconnect", deviceId: "d1" });
    c.node("b").link.tell({ type: "revalidate", accountId: "acc" });
    c.node("b").link.tell({ type: "end-sessions", accountId: "acc" });
    await c.node("b").link.tell({ type: "access-changed", accountId: "acc" });
    await new Promise((r) => setImmediate(r));
    const each = (n: string) => [`${n} access-changed acc`, `${n} disconnect d1`, `${n} end-sessions acc`, `${n} revalidate acc`];
    assert.deepEqual(c.calls.sort(), [...each("a"), ...each("c")]);
  });

  it("closes a stream on the node that carries it and answers the asking node, or nobody within the timeout", async () => {
    const stream = { streamId: "s1", userId: "u", userName: "bob", deviceName: "press-7", target: "10.0.0.1:502" };
    const c = cluster(["a", "b"], { a: stream });
    assert.deepEqual(await c.node("b").link.closeStream("acc", "s1"), stream);
    assert.equal(await c.node("b").link.closeStream("acc", "s2"), undefined);
    assert.equal(await c.node("b").link.closeStream("other", "s1"), undefined);
  });

  it("ignores malformed payloads", () => {
    const c = cluster(["a"]);
    c.node("a").receive('{"type":"disconnect"}');
    c.node("a").receive("garbage");
    assert.deepEqual(c.calls, []);
  });
});
