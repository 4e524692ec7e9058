import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { PORTAL_CSP, portalAssetsDir } from "./portal-assets.js";

const dir = portalAssetsDir();
const assets = join(dir, "assets");

/** Every file under `at`, as paths relative to `assets/`. */
function files(at: string, prefix = ""): string[] {
  return readdirSync(at).flatMap((name) => (statSync(join(at, name)).isDirectory() ? files(join(at, name), `${prefix}${name}/`) : [`${prefix}${name}`]));
}

/** The code the browser runs or applies: scripts and style sheets, without source maps. */
function shipped(): { name: string; text: string }[] {
  return files(assets)
    .filter((f) => f.endsWith(".js") || f.endsWith(".css"))
    .map((name) => ({ name, text: readFileSync(join(assets, name), "utf8") }));
}

/** URLs that are allowed to appear as text: XML namespace names (never fetched) and private-address examples in hints. */
function harmless(url: string): boolean {
  const { host, hostname } = new URL(url);
  if (host === "www.w3.org") return true;
  return /^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|127\.)/.test(hostname) || hostname === "localhost";
}

describe("the built web portal", () => {
  it("has index.html, app.js and app.css where the server looks", () => {
    for (const file of ["index.html", "assets/app.js", "assets/app.css"])
      assert.ok(existsSync(join(dir, file)), `${file} is missing in ${dir}: run npm run build`);
  });

  it("loads only /assets/ files from index.html, with no inline script or style", () => {
    const html = readFileSync(join(dir, "index.html"), "utf8");
    const refs = [...html.matchAll(/\b(?:src|href)\s*=\s*"([^"]*)"/g)].map((m) => m[1] ?? "");
    assert.deepEqual(
      refs.filter((r) => !r.startsWith("/assets/")),
      [],
    );
    assert.ok(refs.includes("/assets/app.js") && refs.includes("/assets/app.css"), refs.join(", "));
    for (const ref of refs) assert.ok(existsSync(join(dir, ref)), `index.html links ${ref}, which was not built`);
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, "inline script");
    assert.doesNotMatch(html, /<style\b|\sstyle\s*=/i, "inline style");
    assert.doesNotMatch(html, /\son[a-z]+\s*=/i, "inline event handler");
  });

  it("never loads code, styles or data from another host", () => {
    for (const { name, text } of shipped()) {
      // Script and style loads, fetches, event streams and sockets to absolute URLs.
      assert.doesNotMatch(text, /\bimport\s*\(\s*["'`](?:https?:)?\/\//, `${name}: dynamic import from another host`);
      assert.doesNotMatch(text, /\bfrom\s*["'`](?:https?:)?\/\//, `${name}: static import from another host`);
      assert.doesNotMatch(text, /\b(?:fetch|EventSource|WebSocket|importScripts)\s*\(\s*["'`](?:https?:|wss?:)?\/\//, `${name}: request to an absolute URL`);
      assert.doesNotMatch(text, /<script[^>]+src\s*=\s*["']?(?:https?:)?\/\//i, `${name}: script from another host`);
      assert.doesNotMatch(text, /@import\s+(?:url\()?\s*["']?(?:https?:)?\/\//i, `${name}: style sheet from another host`);
      assert.doesNotMatch(text, /url\(\s*["']?(?:https?:)?\/\//i, `${name}: CSS url() to another host`);
      // Any other absolute URL is text only (namespaces, examples in hints); name it here when adding one.
      const urls = [...text.matchAll(/https?:\/\/[^\s"'`)<>\\]+/g)].map((m) => m[0]);
      assert.deepEqual(
        urls.filter((u) => !harmless(u)),
        [],
        `${name} mentions URLs of other hosts`,
      );
    }
  });

  it("needs no eval, so the CSP can leave out 'unsafe-eval'", () => {
    for (const { name, text } of shipped()) assert.doesNotMatch(text, /\beval\s*\(|\bnew Function\s*\(/, name);
  });

  it("keeps the server-side schemas (zod) out of the bundle", () => {
    for (const { name, text } of shipped()) assert.doesNotMatch(text, /ZodError|zod\.dev/, name);
  });
});

describe("the portal CSP", () => {
  const directives = new Map(
    PORTAL_CSP.split(";")
      .map((d) => d.trim().split(/\s+/))
      .map(([name = "", ...values]) => [name, values]),
  );

  it("allows scripts, styles and connections to the portal itself only", () => {
    assert.deepEqual(directives.get("default-src"), ["'none'"]);
    assert.deepEqual(directives.get("script-src"), ["'self'"]);
    assert.deepEqual(directives.get("style-src"), ["'self'"]);
    assert.deepEqual(directives.get("connect-src"), ["'self'"]);
  });

  it("forbids framing, foreign form targets and base URLs", () => {
    assert.deepEqual(directives.get("frame-ancestors"), ["'none'"]);
    assert.deepEqual(directives.get("form-action"), ["'self'"]);
    assert.deepEqual(directives.get("base-uri"), ["'none'"]);
  });

  it("has no unsafe source anywhere", () => {
    assert.doesNotMatch(PORTAL_CSP, /unsafe-|\*/);
  });
});
