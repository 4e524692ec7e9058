import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type PrefixMount,
  requestUrlToTarget,
  rewriteCss,
  rewriteHtml,
  rewriteLocation,
  rewriteSetCookie,
  rewriteSrcset,
  rewriteUrl,
} from "./prefix-rewrite.js";

/** The path-prefix prototype's rules: the bench's comparison is only fair if they are right. */
const m: PrefixMount = { prefix: "/hmi/k3j9/", target: "http://192.168.1.10:8080", public: "https://portal.example.com", shim: false };

describe("path-prefix rewriting (bench prototype)", () => {
  test("URLs: root-relative and own-origin absolute move under the prefix; relative and foreign ones stay", () => {
    const cases: [string, string][] = [
      ["/static/a.css", "/hmi/k3j9/static/a.css"],
      ["/", "/hmi/k3j9/"],
      ["http://192.168.1.10:8080/hmi/?x=1#top", "https://portal.example.com/hmi/k3j9/hmi/?x=1#top"],
      ["//192.168.1.10:8080/x", "https://portal.example.com/hmi/k3j9/x"],
      ["http://192.168.1.10/x", "http://192.168.1.10/x"],
      ["https://cdn.example.net/lib.js", "https://cdn.example.net/lib.js"],
      ["img/a.png", "img/a.png"],
      ["#frag", "#frag"],
      ["javascript:void 0", "javascript:void 0"],
    ];
    for (const [from, to] of cases) assert.equal(rewriteUrl(from, m), to, from);
    assert.equal(rewriteLocation("/hmi/", m), "/hmi/k3j9/hmi/");
    assert.equal(rewriteSrcset("/a.png 1x, /b.png 2x", m), "/hmi/k3j9/a.png 1x, /hmi/k3j9/b.png 2x");
  });

  test("CSS: url() in any quoting and @import", () => {
    assert.equal(
      rewriteCss(`a{background:url(/i/a.png)} b{background:url('/i/b.png')} @import "/base.css";`, m),
      `a{background:url(/hmi/k3j9/i/a.png)} b{background:url('/hmi/k3j9/i/b.png')} @import "/hmi/k3j9/base.css";`,
    );
  });

  test("Set-Cookie loses Domain and gets the prefix as Path; Origin and Referer go back to the HMI's own", () => {
    assert.equal(rewriteSetCookie("s=1; Path=/; HttpOnly", m), "s=1; Path=/hmi/k3j9/; HttpOnly");
    assert.equal(rewriteSetCookie("site=p7; Path=/app; Domain=192.168.1.10", m), "site=p7; Path=/hmi/k3j9/app");
    assert.equal(rewriteSetCookie("t=2", m), "t=2; Path=/hmi/k3j9/");
    assert.equal(requestUrlToTarget("https://portal.example.com", m), "http://192.168.1.10:8080");
    assert.equal(requestUrlToTarget("https://portal.example.com/hmi/k3j9/hmi/", m), "http://192.168.1.10:8080/hmi/");
  });

  test("HTML: URL attributes, inline styles, <style>, <base> and meta refresh; scripts and text untouched", async () => {
    const html =
      `<!doctype html><html><head><base href="/app/"><meta http-equiv="refresh" content="30; url=/hmi/">` +
      `<style>p{background:url(/bg.png)} a>b{}</style><script>fetch("/api/tags")</script></head>
<body style="background:url('/body.png')"><a href="/x">/x</a><img src="/i.png" srcset="/i.png 1x, /i2.png 2x"><form action="/login"></form></body></html>`;
    const out = await rewriteHtml(html, m);
    for (const expected of [
      '<base href="/hmi/k3j9/app/">',
      'content="30; url=/hmi/k3j9/hmi/"',
      "p{background:url(/hmi/k3j9/bg.png)} a>b{}",
      'fetch("/api/tags")',
      `style="background:url('/hmi/k3j9/body.png')"`,
      '<a href="/hmi/k3j9/x">/x</a>',
      'srcset="/hmi/k3j9/i.png 1x, /hmi/k3j9/i2.png 2x"',
      'action="/hmi/k3j9/login"',
    ]) {
      assert.ok(out.includes(expected), `${expected} in ${out}`);
    }
  });

  test("HTML: the shim's script tag comes first in <head>, or first at all without one", async () => {
    const shim = { ...m, shim: true };
    assert.match(
      await rewriteHtml("<html><head><script src=/a.js></script></head></html>", shim),
      /^<html><head><script src="\/hmi\/k3j9\/\.prefix-proxy\/shim\.js"><\/script><script src="?\/hmi\/k3j9\/a\.js/,
    );
    assert.match(await rewriteHtml("<p>hi</p>", shim), /^<script src="\/hmi\/k3j9\/\.prefix-proxy\/shim\.js"><\/script><p>hi<\/p>$/);
  });
});
