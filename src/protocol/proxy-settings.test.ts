import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UsageError } from "./errors.js";
import { bypassesProxy, noProxyList, proxySetting, redact } from "./proxy-settings.js";

describe("proxy settings", () => {
  it("takes --proxy before HTTPS_PROXY, and nothing means direct", () => {
    assert.equal(proxySetting({ env: {} }), undefined);
    const s = proxySetting({ flag: "http://proxy.plant:3128", env: { HTTPS_PROXY: "http://other:8080" } });
    assert.deepEqual(s, { host: "proxy.plant", port: 3128, source: "--proxy", noProxy: [] });
    assert.equal(proxySetting({ env: { https_proxy: "other:8080" } })?.host, "other");
    assert.equal(proxySetting({ env: { HTTPS_PROXY: "http://[::1]:3128" } })?.host, "::1");
  });

  it("takes the password from FERNLINK_PROXY_PASSWORD, or from HTTPS_PROXY, never from --proxy", () => {
    const env = { FERNLINK_PROXY_PASSWORD: "s3cret" };
    assert.deepEqual(proxySetting({ flag: "http://alice@proxy:3128", env })?.credentials, { user: "alice", password: "s3cret" });
    assert.deepEqual(proxySetting({ env: { HTTPS_PROXY: "http://bob:p%40ss@proxy:3128" } })?.credentials, { user: "bob", password: "p@ss" });
    assert.throws(
      () => proxySetting({ flag: "http://alice:pw@proxy:3128", env }),
      (err: unknown) => {
        assert.ok(err instanceof UsageError);
        assert.match(err.message, /must not carry a password.*FERNLINK_PROXY_PASSWORD/);
        assert.doesNotMatch(err.message, /pw/);
        return true;
      },
    );
    assert.throws(() => proxySetting({ flag: "http://alice@proxy:3128", env: {} }), /needs a password: set FERNLINK_PROXY_PASSWORD/);
  });

  it("refuses what is not an http:// proxy URL, without showing a password", () => {
    assert.throws(() => proxySetting({ flag: "https://proxy:3128", env: {} }), /only http:\/\/ proxies/);
    assert.throws(
      () => proxySetting({ env: { HTTPS_PROXY: "socks5://u:secret@proxy:1080" } }),
      (err: Error) => !err.message.includes("secret"),
    );
    assert.throws(() => proxySetting({ flag: "http://proxy:3128/path", env: {} }), /has a path/);
    assert.equal(redact("http://u:secret@h:1"), "http://u:***@h:1");
  });

  it("reads NO_PROXY as curl does", () => {
    const list = noProxyList("localhost, .plant.local,10.0.0.5 fernlink.example.com:8443");
    assert.equal(bypassesProxy(list, "localhost", 443), true);
    assert.equal(bypassesProxy(list, "mes.plant.local", 443), true);
    assert.equal(bypassesProxy(list, "plant.local", 443), true);
    assert.equal(bypassesProxy(list, "notplant.local", 443), false);
    assert.equal(bypassesProxy(list, "10.0.0.5", 443), true);
    assert.equal(bypassesProxy(list, "fernlink.example.com", 8443), true);
    assert.equal(bypassesProxy(list, "fernlink.example.com", 443), false);
    assert.equal(bypassesProxy(["*"], "anything", 1), true);
    assert.equal(bypassesProxy(noProxyList("::1"), "[::1]", 1), true);
    assert.equal(proxySetting({ env: { HTTPS_PROXY: "p:1", NO_PROXY: "a,b" } })?.noProxy.length, 2);
  });
});
