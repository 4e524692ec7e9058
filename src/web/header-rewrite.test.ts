import assert from "node:assert/strict";
import { test } from "node:test";
import {
  hmiRequestHeaders,
  hmiResponseHeaders,
  readCookie,
  responseHead,
  rewriteLocation,
  rewriteSetCookie,
  splitCookiePair,
  WEB_GRANT_COOKIE,
  withoutGrantCookie,
} from "./header-rewrite.js";

const origins = { target: "http://192.168.1.10", public: "https://w-k3j9.localhost:8443" };

test("the HMI gets its own Host, Origin and Referer, and never the grant cookie", () => {
  const out = hmiRequestHeaders(
    {
      host: "w-k3j9.localhost:8443",
      origin: "https://w-k3j9.localhost:8443",
      referer: "https://w-k3j9.localhost:8443/hmi/?page=2",
      cookie: `hmi_session=abc; ${WEB_GRANT_COOKIE}=secret; lang=de`,
      connection: "keep-alive, x-private",
      "x-private": "1",
      "keep-alive": "timeout=5",
      "transfer-encoding": "chunked",
      accept: "text/html",
    },
    origins,
  );
  assert.deepEqual(out, {
    host: "192.168.1.10",
    origin: "http://192.168.1.10",
    referer: "http://192.168.1.10/hmi/?page=2",
    cookie: "hmi_session=abc; lang=de",
    accept: "text/html",
  });
});

test("HTTP/2 pseudo-headers go, and split cookie fields are joined", () => {
  const out = hmiRequestHeaders({ ":authority": "w-k3j9.localhost:8443", ":path": "/", cookie: ["a=1", `${WEB_GRANT_COOKIE}=x`] } as never, origins);
  assert.deepEqual(out, { host: "192.168.1.10", cookie: "a=1" });
  assert.equal(withoutGrantCookie(`${WEB_GRANT_COOKIE}=only`), undefined);
});

test("an Origin or Referer from elsewhere is passed unchanged", () => {
  const out = hmiRequestHeaders({ origin: "https://evil.example", referer: "https://w-k3j9.localhost:84430/x" }, origins);
  assert.equal(out["origin"], "https://evil.example");
  assert.equal(out["referer"], "https://w-k3j9.localhost:84430/x");
});

test("a Location pointing at the HMI itself moves to the public origin; others stay", () => {
  assert.equal(rewriteLocation("http://192.168.1.10/hmi/", origins), "https://w-k3j9.localhost:8443/hmi/");
  assert.equal(rewriteLocation("http://192.168.1.10:80/a?b=1#c", origins), "https://w-k3j9.localhost:8443/a?b=1#c");
  assert.equal(rewriteLocation("/hmi/", origins), "/hmi/");
  assert.equal(rewriteLocation("http://192.168.1.10:8080/", origins), "http://192.168.1.10:8080/");
  assert.equal(rewriteLocation("https://vendor.example/help", origins), "https://vendor.example/help");
  const https = { target: "https://10.0.0.5:4443", public: "https://w-a.localhost" };
  assert.equal(rewriteLocation("https://10.0.0.5:4443/login", https), "https://w-a.localhost/login");
});

test("cookies lose their Domain, keep the rest, and may not take the grant cookie's name", () => {
  assert.equal(rewriteSetCookie("sid=1; Domain=localhost; Path=/; HttpOnly"), "sid=1; Path=/; HttpOnly");
  assert.equal(rewriteSetCookie("sid=1;domain=.192.168.1.10"), "sid=1");
  assert.equal(rewriteSetCookie(`${WEB_GRANT_COOKIE}=forged; Path=/`), undefined);
  const out = hmiResponseHeaders(
    {
      "set-cookie": ["a=1; Domain=x", `${WEB_GRANT_COOKIE}=y`],
      location: "http://192.168.1.10/x",
      "strict-transport-security": "max-age=1",
      connection: "close",
      "content-type": "text/html",
    },
    origins,
  );
  assert.deepEqual(out, { "set-cookie": ["a=1"], location: "https://w-k3j9.localhost:8443/x", "content-type": "text/html" });
});

test("an HMI cannot set the grant cookie under a spaced, re-cased or empty name, as browsers would read it", () => {
  for (const line of [
    `${WEB_GRANT_COOKIE} =x`,
    `${WEB_GRANT_COOKIE}\t= x; Path=/`,
    ` ${WEB_GRANT_COOKIE}=x`,
    "__host-fernlink-web=x",
    "__HOST-FERNLINK-WEB=x; Secure; Path=/",
    `=${WEB_GRANT_COOKIE}=x`,
    `${WEB_GRANT_COOKIE}`,
    "=__Secure-anything=x",
  ]) {
    assert.equal(rewriteSetCookie(line), undefined, line);
  }
  assert.equal(rewriteSetCookie("__Host-hmi=1; Secure; Path=/"), "__Host-hmi=1; Secure; Path=/");
  assert.equal(rewriteSetCookie(`${WEB_GRANT_COOKIE}-x=1`), `${WEB_GRANT_COOKIE}-x=1`);
});

test("cookies are read with their names trimmed and matched case by case, as browsers send them", () => {
  assert.deepEqual(splitCookiePair(" a b = c d "), { name: "a b", value: "c d" });
  assert.deepEqual(splitCookiePair("bare"), { name: "", value: "bare" });
  assert.equal(readCookie(`x=1;  ${WEB_GRANT_COOKIE} = g=1`, WEB_GRANT_COOKIE), "g=1");
  assert.equal(readCookie("__host-fernlink-web=g", WEB_GRANT_COOKIE), undefined);
  assert.equal(withoutGrantCookie(`a=1; ${WEB_GRANT_COOKIE} =g; __HOST-fernlink-web=h; b=2`), "a=1; b=2");
});

test("a hand-written answer head carries each header value on its own line and never a line break", () => {
  assert.equal(
    responseHead(101, { connection: "Upgrade", upgrade: "websocket", "set-cookie": ["a=1", "b=2"], "x-bad": "1\r\nset-cookie: c=3" }),
    "HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: websocket\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n\r\n",
  );
});
