import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { TargetSyntaxError } from "./target.js";
import { formatWebTargetUrl, parseWebTargetUrl, redactWebTargetUrl, type WebTargetAddress } from "./web-target-url.js";

describe("parseWebTargetUrl", () => {
  const good: [string, WebTargetAddress, string][] = [
    ["http://192.168.1.10:80/", { kind: "http", host: "192.168.1.10", port: 80, path: "/" }, "http://192.168.1.10/"],
    ["http://192.168.1.10", { kind: "http", host: "192.168.1.10", port: 80, path: "/" }, "http://192.168.1.10/"],
    ["https://hmi.local/app/", { kind: "https", host: "hmi.local", port: 443, path: "/app/" }, "https://hmi.local/app/"],
    [
      "HTTPS://HMI.Local.:8443/App/?page=1#top",
      { kind: "https", host: "hmi.local", port: 8443, path: "/App/?page=1#top" },
      "https://hmi.local:8443/App/?page=1#top",
    ],
    ["http://hmi.local?x=1", { kind: "http", host: "hmi.local", port: 80, path: "/?x=1" }, "http://hmi.local/?x=1"],
    ["http://hmi.local/a%20b", { kind: "http", host: "hmi.local", port: 80, path: "/a%20b" }, "http://hmi.local/a%20b"],
    ["http://[fd00::5]:8080", { kind: "http", host: "fd00::5", port: 8080, path: "/" }, "http://[fd00::5]:8080/"],
    ["http://[FD00:0:0::5]:8080/", { kind: "http", host: "fd00::5", port: 8080, path: "/" }, "http://[fd00::5]:8080/"],
    ["http://127.1:8080/", { kind: "http", host: "127.0.0.1", port: 8080, path: "/" }, "http://127.0.0.1:8080/"],
    ["http://[::ffff:10.0.0.1]/", { kind: "http", host: "10.0.0.1", port: 80, path: "/" }, "http://10.0.0.1/"],
    ["http://hmi.local:/", { kind: "http", host: "hmi.local", port: 80, path: "/" }, "http://hmi.local/"],
    ["vnc://192.168.1.20:5900", { kind: "vnc", host: "192.168.1.20", port: 5900, path: null }, "vnc://192.168.1.20:5900"],
    ["vnc://host", { kind: "vnc", host: "host", port: 5900, path: null }, "vnc://host:5900"],
    ["vnc://panel.local:5901/", { kind: "vnc", host: "panel.local", port: 5901, path: null }, "vnc://panel.local:5901"],
    ["VNC://[fd00::5]", { kind: "vnc", host: "fd00::5", port: 5900, path: null }, "vnc://[fd00::5]:5900"],
  ];
  for (const [text, address, canonical] of good) {
    it(`reads "${text}" and writes it back as ${canonical}`, () => {
      assert.deepEqual(parseWebTargetUrl(text), address);
      assert.equal(formatWebTargetUrl(address), canonical);
      assert.deepEqual(parseWebTargetUrl(canonical), address, "the canonical form reads back the same");
    });
  }

  const bad: [string, RegExp][] = [
    ["", /is empty; write e\.g\./],
    ["hmi.local", /has no scheme; start it with http:\/\/, https:\/\/ or vnc:\/\//],
    ["192.168.1.10:80", /has no scheme/],
    ["[fd00::5]:8080", /has no scheme/],
    ["http:hmi.local", /has no scheme/],
    ["ftp://files.local/", /uses "ftp:"; only http:\/\/, https:\/\/ and vnc:\/\//],
    ["ws://hmi.local/", /uses "ws:"/],
    ["javascript://alert(1)", /uses "javascript:"/],
    ["http://user:pass@hmi.local/", /has credentials in it; .*--password-stdin/],
    ["vnc://:secret@panel:5900", /has credentials in it/],
    ["http://@hmi.local/", /has credentials in it/],
    ["http:///path", /has no host/],
    ["http://:8080/", /has no host/],
    ["vnc://", /has no host/],
    ["http://hmi.local:99999/", /: port "99999" is out of range/],
    ["http://hmi.local:0/", /: port "0" is out of range/],
    ["http://hmi.local:http/", /: port "http" is not a number/],
    ["vnc://host:-1", /: port "-1" is not a number/],
    ["http://fd00::5:8080/", /IPv6 host without brackets/],
    ["http://[fd00::5/", /unclosed '\['/],
    ["http://[hmi.local]/", /where an IPv6 address belongs/],
    ["http://[fe80::1%25eth0]/", /zone id/],
    ["http://hmi_1$.local/", /host "hmi_1\$\.local" is neither an IP address nor a host name/],
    ["http://hmi local/", /white space or control characters/],
    ["http://hmi.local/\n", /white space or control characters/],
    ["http://hmi.local/übersicht", /must be percent-encoded/],
    ["http://hmi.local/<script>", /must be percent-encoded/],
    ["http://hmi.local/100%", /does not start a %XX escape/],
    ["http://hmi.local/#a#b", /more than one '#'/],
    ["vnc://panel:5900?password=x", /has a query or fragment; vnc:\/\/ targets are a host and a port only/],
    ["vnc://panel:5900/#x", /has a query or fragment/],
    ["vnc://panel:5900/display/1", /has the path "\/display\/1"/],
    [`http://hmi.local/${"a".repeat(2100)}`, /is longer than 2048 characters/],
  ];
  for (const [text, message] of bad) {
    it(`refuses "${text.slice(0, 60)}" with one line naming the URL`, () => {
      assert.throws(
        () => parseWebTargetUrl(text),
        (err: unknown) => {
          assert.ok(err instanceof TargetSyntaxError);
          assert.equal(err.code, "invalid-target");
          assert.match(err.message, /^web target URL "/);
          assert.match(err.message, message);
          assert.doesNotMatch(err.message, /\n/);
          return true;
        },
      );
    });
  }

  it("never repeats a password written into the URL", () => {
    for (const text of ["vnc://admin:hunter2-secret@panel:5900", "http://hunter2-secret@hmi.local/"]) {
      assert.throws(
        () => parseWebTargetUrl(text),
        (err: Error) => !err.message.includes("hunter2-secret") && err.message.includes("***@"),
      );
    }
    assert.equal(redactWebTargetUrl("vnc://a:b@c:5900"), "vnc://***@c:5900");
    assert.equal(redactWebTargetUrl("http://hmi.local/a@b"), "http://hmi.local/a@b");
  });

  it("reads every canonical URL back to the same target (property)", () => {
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
    const host = fc.oneof(
      fc.ipV4(),
      fc.ipV6().filter((ip) => !/^::ffff:/i.test(ip)),
      fc
        .array(label, { minLength: 1, maxLength: 4 })
        .map((l) => l.join("."))
        .filter((h) => !/^[0-9.]+$/.test(h) && !/^0x/i.test(h)),
    );
    const path = fc.stringMatching(/^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/]{0,30}(\?[A-Za-z0-9=&]{0,10})?(#[a-z]{0,5})?$/);
    const address = fc.record({
      kind: fc.constantFrom("http" as const, "https" as const, "vnc" as const),
      host,
      port: fc.integer({ min: 1, max: 65535 }),
      path,
    });
    fc.assert(
      fc.property(address, (a) => {
        const parsed = parseWebTargetUrl(formatWebTargetUrl({ ...a, path: a.kind === "vnc" ? null : a.path }));
        const canonical = formatWebTargetUrl(parsed);
        assert.deepEqual(parseWebTargetUrl(canonical), parsed);
        assert.deepEqual([parsed.kind, parsed.port, parsed.path], [a.kind, a.port, a.kind === "vnc" ? null : a.path]);
      }),
    );
  });

  it("never throws anything but a one-line syntax error on arbitrary text (property)", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: "binary" }),
          fc.webUrl(),
          fc.string().map((s) => `http://${s}`),
          fc.string().map((s) => `vnc://${s}`),
        ),
        (text) => {
          try {
            const parsed = parseWebTargetUrl(text);
            assert.deepEqual(parseWebTargetUrl(formatWebTargetUrl(parsed)), parsed);
          } catch (err) {
            assert.ok(err instanceof TargetSyntaxError, String(err));
            assert.doesNotMatch(err.message, /\n/);
          }
        },
      ),
    );
  });
});
