import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeLaneMessage, encodeLaneMessage, FrameReader, frameHeader, LANE_MESSAGE_MAX } from "./lane.js";

describe("a lane's message", () => {
  it("decodes what was encoded, and hands back the bytes after it", () => {
    const bytes = Buffer.concat([encodeLaneMessage({ "fernlink-lane": "abc" }), Buffer.from("payload")]);
    const decoded = decodeLaneMessage(bytes);
    assert.deepEqual(decoded?.message, { "fernlink-lane": "abc" });
    assert.equal(decoded?.rest.toString(), "payload");
  });

  it("waits for a message that is not complete yet", () => {
    const bytes = encodeLaneMessage({ "fernlink-lane": "abc" });
    assert.equal(decodeLaneMessage(bytes.subarray(0, 3)), undefined);
    assert.equal(decodeLaneMessage(bytes.subarray(0, bytes.length - 1)), undefined);
  });

  it("refuses a message that is too long, not JSON, or not a flat object", () => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(LANE_MESSAGE_MAX + 1, 0);
    assert.throws(() => decodeLaneMessage(header), /longer than/);
    const withBody = (text: string): Buffer => Buffer.concat([frameHeader(Buffer.byteLength(text)), Buffer.from(text)]);
    assert.throws(() => decodeLaneMessage(withBody("{nope")), /not JSON/);
    assert.throws(() => decodeLaneMessage(withBody("[1]")), /not a JSON object/);
    assert.throws(() => decodeLaneMessage(withBody('{"a":{"b":1}}')), /not a string/);
  });
});

describe("a lane's frames", () => {
  /** Feeds `bytes` to a reader in pieces of `step`; returns the payload and whether the end came. */
  function read(bytes: Buffer, step: number): { payload: Buffer; ended: boolean } {
    const reader = new FrameReader();
    const pieces: Buffer[] = [];
    let ended = false;
    for (let offset = 0; offset < bytes.length; offset += step) {
      reader.feed(
        bytes.subarray(offset, offset + step),
        (piece) => pieces.push(Buffer.from(piece)),
        () => (ended = true),
      );
    }
    return { payload: Buffer.concat(pieces), ended };
  }

  const framed = Buffer.concat([frameHeader(5), Buffer.from("hello"), frameHeader(3), Buffer.from(", w"), frameHeader(4), Buffer.from("orld"), frameHeader(0)]);

  it("gives back the payload in order and the end, however the bytes are cut", () => {
    for (const step of [1, 2, 3, 4, 5, 7, framed.length])
      assert.deepEqual(read(framed, step), { payload: Buffer.from("hello, world"), ended: true }, `step ${step}`);
  });

  it("has no end before the empty frame", () => {
    assert.deepEqual(read(framed.subarray(0, framed.length - 1), 3), { payload: Buffer.from("hello, world"), ended: false });
  });

  it("refuses bytes after the end", () => {
    assert.throws(() => read(Buffer.concat([framed, Buffer.from("x")]), 64), /after the end/);
  });
});
