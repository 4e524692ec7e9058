import assert from "node:assert/strict";
import { test } from "node:test";
import { splitHostHeader, strictTransportSecurity, webTargetHostname, webTargetIdOf, webTargetOrigin } from "./web-host.js";

test("a web target's host name round-trips to its id", () => {
  const host = webTargetHostname("k3j9x0abcd12", "localhost");
  assert.equal(host, "w-k3j9x0abcd12.localhost");
  assert.equal(webTargetIdOf(host, "localhost"), "k3j9x0abcd12");
  assert.equal(webTargetIdOf("W-K3J9X0ABCD12.LocalHost.", "localhost"), "k3j9x0abcd12");
});

test("names that are not a web target of the domain give no id", () => {
  for (const name of [
    "localhost",
    "w-.localhost",
    "x-abc.localhost",
    "w-abc.other",
    "a.w-abc.localhost",
    "w-ab_c.localhost",
    "w-abc.evil-localhost",
    "127.0.0.1",
  ]) {
    assert.equal(webTargetIdOf(name, "localhost"), undefined, name);
  }
});

test("Host headers split into name and port, IPv6 literals included", () => {
  assert.deepEqual(splitHostHeader("W-a.localhost:8443"), { name: "w-a.localhost", port: 8443 });
  assert.deepEqual(splitHostHeader("portal.example.com"), { name: "portal.example.com", port: undefined });
  assert.deepEqual(splitHostHeader("[::1]:443"), { name: "[::1]", port: 443 });
});

test("the origin leaves out the default port", () => {
  assert.equal(webTargetOrigin("a1", "portal.example.com", 443), "https://w-a1.portal.example.com");
  assert.equal(webTargetOrigin("a1", "localhost", 8443), "https://w-a1.localhost:8443");
});

test("portal answers pin HTTPS on real host names, not on addresses or localhost", () => {
  assert.equal(strictTransportSecurity("fernlink.example.com"), "max-age=31536000");
  assert.equal(strictTransportSecurity("Fernlink.Example.com:8443"), "max-age=31536000");
  for (const host of ["127.0.0.1:8443", "[::1]:8443", "localhost:8443", "portal.localhost", "localhost.", ""]) {
    assert.equal(strictTransportSecurity(host), undefined, host);
  }
});
