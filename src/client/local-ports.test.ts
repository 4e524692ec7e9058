import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UsageError } from "../protocol/errors.js";
import { checkDistinctPorts } from "./local-ports.js";

const at = (host: string, port: number, flag: string) => ({ listen: { host, port }, flag });

describe("checkDistinctPorts", () => {
  it("refuses two forwards on one local port, naming both flags", () => {
    assert.throws(
      () => checkDistinctPorts([at("127.0.0.1", 5020, "--forward 5020:10.0.0.1:502"), at("127.0.0.1", 5020, "--forward 5020:10.0.0.2:502")]),
      (err: unknown) =>
        err instanceof UsageError && /--forward 5020:10\.0\.0\.1:502 and --forward 5020:10\.0\.0\.2:502 both listen on 127\.0\.0\.1:5020/.test(err.message),
    );
  });

  it("refuses a forward and the SOCKS proxy on one port when one of them listens on every address", () => {
    assert.throws(() => checkDistinctPorts([at("0.0.0.0", 1080, "--forward"), at("127.0.0.1", 1080, "--socks")]), UsageError);
  });

  it("accepts port 0 several times, other ports, and one port on two distinct addresses", () => {
    checkDistinctPorts([at("127.0.0.1", 0, "a"), at("127.0.0.1", 0, "b"), at("127.0.0.1", 5020, "c"), at("127.0.0.2", 5020, "d"), at("127.0.0.1", 5021, "e")]);
  });
});
