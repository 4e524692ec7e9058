import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { DatagramDecoder, encodeDatagram, MAX_CAPSULE_VALUE, MAX_UDP_PAYLOAD, readVarint, varintLength, writeVarint } from "./datagram-capsule.js";
import { FernlinkError } from "./errors.js";

const hex = (text: string): Buffer => Buffer.from(text.replace(/ /g, ""), "hex");

/** Splits `buf` at the given cut points (sorted, deduplicated, within bounds). */
function split(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    parts.push(buf.subarray(from, p));
    from = p;
  }
  parts.push(buf.subarray(from));
  return parts;
}

describe("variable-length integers (RFC 9000 §16)", () => {
  const examples: [string, number][] = [
    ["25", 37],
    ["40 25", 37], // a longer encoding than needed is still valid
    ["7b bd", 15_293],
    ["9d 7f 3e 7d", 494_878_333],
    ["3f", 63],
    ["40 40", 64],
    ["7f ff", 16_383],
    ["80 00 40 00", 16_384],
    ["bf ff ff ff", 1_073_741_823],
    ["c0 00 00 00 40 00 00 00", 1_073_741_824],
  ];
  for (const [bytes, value] of examples) {
    it(`reads ${bytes} as ${value}`, () => assert.deepEqual(readVarint(hex(bytes), 0), { value, next: hex(bytes).length }));
  }

  it("writes the shortest form", () => {
    for (const [bytes, value] of examples.filter(([b]) => b !== "40 25")) {
      const buf = Buffer.alloc(varintLength(value));
      assert.equal(writeVarint(buf, 0, value), buf.length);
      assert.equal(buf.toString("hex"), bytes.replace(/ /g, ""));
    }
  });

  it("reads a value beyond safe integers as infinite, not wrapped", () => {
    assert.equal(readVarint(hex("c2 19 7c 5e ff 14 e8 8c"), 0)?.value, Number.POSITIVE_INFINITY);
  });

  it("says when the buffer ends inside the integer", () => {
    assert.equal(readVarint(hex("7b"), 0), undefined);
    assert.equal(readVarint(hex("9d 7f 3e"), 0), undefined);
    assert.equal(readVarint(Buffer.alloc(0), 0), undefined);
  });

  it("refuses negative and unsafe values", () => {
    assert.throws(() => varintLength(-1), RangeError);
    assert.throws(() => varintLength(2 ** 60), RangeError);
    assert.throws(() => varintLength(1.5), RangeError);
  });

  it("round-trips every safe value", () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (value) => {
        const buf = Buffer.alloc(varintLength(value));
        writeVarint(buf, 0, value);
        assert.deepEqual(readVarint(buf, 0), { value, next: buf.length });
      }),
    );
  });
});

describe("DATAGRAM capsules", () => {
  const table: [string, string, string][] = [
    ["empty datagram", "", "00 01 00"],
    ["one byte", "ab", "00 02 00 ab"],
    ["62 bytes: length still one byte", "11".repeat(62), `00 3f 00 ${"11".repeat(62)}`],
    ["63 bytes: two-byte length", "22".repeat(63), `00 40 40 00 ${"22".repeat(63)}`],
  ];
  for (const [name, payload, wire] of table) {
    it(`encodes ${name}`, () => assert.equal(encodeDatagram(hex(payload)).toString("hex"), wire.replace(/ /g, "")));
    it(`decodes ${name}`, () => assert.deepEqual(new DatagramDecoder().push(hex(wire)), [hex(payload)]));
  }

  it("carries the largest UDP payload and refuses a larger one", () => {
    const max = Buffer.alloc(MAX_UDP_PAYLOAD, 7);
    assert.deepEqual(new DatagramDecoder().push(encodeDatagram(max)), [max]);
    assert.throws(
      () => encodeDatagram(Buffer.alloc(MAX_UDP_PAYLOAD + 1)),
      (err: unknown) => err instanceof FernlinkError && err.code === "invalid-input",
    );
  });

  it("skips unknown capsule types and other context IDs", () => {
    const wire = Buffer.concat([hex("17 03 aa bb cc"), encodeDatagram(hex("01")), hex("00 03 04 ee ff"), encodeDatagram(hex("02"))]);
    assert.deepEqual(new DatagramDecoder().push(wire), [hex("01"), hex("02")]);
  });

  it("refuses a capsule longer than a datagram needs before buffering it", () => {
    const decoder = new DatagramDecoder();
    const header = Buffer.alloc(1 + 4);
    writeVarint(header, writeVarint(header, 0, 0), MAX_CAPSULE_VALUE + 1);
    assert.throws(
      () => decoder.push(header),
      (err: unknown) => err instanceof FernlinkError && err.code === "invalid-input",
    );
    assert.throws(() => new DatagramDecoder().push(hex("00 c0 00 00 00 ff ff ff ff")), FernlinkError);
  });

  it("refuses a DATAGRAM capsule without a context ID", () => {
    assert.throws(() => new DatagramDecoder().push(hex("00 00")), FernlinkError);
  });

  it("keeps boundaries however the stream splits or joins capsules", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 1500 }), { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 10 }), (payloads, cuts) => {
        const wire = Buffer.concat(payloads.map((p) => encodeDatagram(p)));
        const decoder = new DatagramDecoder();
        const got = split(wire, cuts).flatMap((part) => decoder.push(part));
        assert.deepEqual(
          got.map((b) => b.toString("hex")),
          payloads.map((p) => Buffer.from(p).toString("hex")),
        );
        assert.equal(decoder.buffered, 0);
      }),
    );
  });

  it("meets any input with datagrams or a typed error, never holding more than one capsule", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 30 }), (chunks) => {
        const decoder = new DatagramDecoder();
        try {
          for (const chunk of chunks) {
            for (const d of decoder.push(Buffer.from(chunk))) assert.ok(d.length <= MAX_UDP_PAYLOAD + 8);
            assert.ok(decoder.buffered <= MAX_CAPSULE_VALUE + 16);
          }
        } catch (err) {
          assert.ok(err instanceof FernlinkError && err.code === "invalid-input", String(err));
        }
      }),
    );
  });
});
