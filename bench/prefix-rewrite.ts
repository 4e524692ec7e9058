/**
 * The rewriting rules of the path-prefix prototype (bench only, see path-prefix-proxy.ts): an
 * HMI that believes it lives at `/` is shown under `/hmi/<key>/` on the portal's origin, so
 * every URL it hands the browser must be moved under that prefix. These are the rules reverse
 * proxies with path-based mapping apply (Apache mod_proxy_html, access gateways, remote-access
 * portals): Location and Refresh headers, Set-Cookie Domain/Path, URL attributes and inline
 * styles in HTML, url()/@import in CSS, and an optional script that patches the browser APIs
 * through which scripts build URLs (fetch, XMLHttpRequest, WebSocket, EventSource), since URLs
 * computed by scripts cannot be found in the text. Pure functions.
 */
import { RewritingStream } from "parse5-html-rewriting-stream";

/** Where one HMI is mounted. */
export interface PrefixMount {
  /** Path prefix on the portal, ending in "/", e.g. `/hmi/k3j9/`. */
  prefix: string;
  /** The HMI's own origin, e.g. `http://192.168.1.10:8080`. */
  target: string;
  /** The portal's origin the browser uses, e.g. `https://portal.example.com`. */
  public: string;
  /** Inject the runtime script that rewrites URLs built by the page's scripts. */
  shim: boolean;
}

/** Where the runtime script is served, under each prefix. */
export const SHIM_PATH = ".prefix-proxy/shim.js";

/** Attributes holding one URL, per element (`*` = any element). */
const URL_ATTRIBUTES: Record<string, readonly string[]> = {
  "*": ["href", "src", "action", "formaction", "poster", "background", "cite", "longdesc", "usemap", "manifest"],
  object: ["data", "codebase"],
  applet: ["codebase", "archive"],
};

function sameOrigin(url: URL, origin: string): boolean {
  const o = new URL(origin);
  const port = (u: URL): string => u.port || (u.protocol === "https:" || u.protocol === "wss:" ? "443" : "80");
  return (url.protocol === "http:" || url.protocol === "https:") && url.hostname === o.hostname && port(url) === port(o);
}

/**
 * One URL the HMI wrote: a root-relative path gets the prefix, an absolute URL of the HMI's own
 * origin moves to the portal under the prefix; relative paths already resolve under the prefix.
 */
export function rewriteUrl(value: string, m: PrefixMount): string {
  const lead = /^\s*/.exec(value)![0];
  const v = value.slice(lead.length);
  if (v.startsWith("/") && !v.startsWith("//")) return lead + m.prefix + v.slice(1);
  if (!/^(https?:)?\/\//i.test(v)) return value;
  let url: URL;
  try {
    url = new URL(v, m.target);
  } catch {
    return value;
  }
  if (!sameOrigin(url, m.target)) return value;
  return lead + m.public + m.prefix + url.pathname.slice(1) + url.search + url.hash;
}

/** `srcset`: comma-separated candidates `URL [descriptor]`. */
export function rewriteSrcset(value: string, m: PrefixMount): string {
  return value
    .split(",")
    .map((candidate) => candidate.replace(/^(\s*)(\S+)/, (_all, space: string, url: string) => space + rewriteUrl(url, m)))
    .join(",");
}

/** `url(...)` and `@import "..."` in a style sheet or a style attribute. */
export function rewriteCss(css: string, m: PrefixMount): string {
  return css
    .replace(/url\(\s*(['"]?)([^'")]*)\1\s*\)/gi, (_all, q: string, url: string) => `url(${q}${rewriteUrl(url, m)}${q})`)
    .replace(/@import\s+(['"])([^'"]+)\1/gi, (_all, q: string, url: string) => `@import ${q}${rewriteUrl(url, m)}${q}`);
}

/** `Refresh` header or `<meta http-equiv=refresh>` content: `5; url=/next`. */
export function rewriteRefresh(value: string, m: PrefixMount): string {
  return value.replace(/(;\s*url\s*=\s*)(['"]?)([^'"]+)\2/i, (_all, head: string, q: string, url: string) => head + q + rewriteUrl(url, m) + q);
}

/** Location: a root-relative or own-origin target moves under the prefix. */
export function rewriteLocation(location: string, m: PrefixMount): string {
  return rewriteUrl(location, m);
}

/**
 * Set-Cookie: no Domain (the HMI's host is not the portal's), and its Path moved under the
 * prefix so the browser sends it only to this HMI — the only separation one origin allows.
 */
export function rewriteSetCookie(line: string, m: PrefixMount): string {
  const [pair = "", ...attributes] = line.split(";");
  const out = [pair];
  let hasPath = false;
  for (const a of attributes) {
    const [name = "", ...rest] = a.split("=");
    const key = name.trim().toLowerCase();
    if (key === "domain") continue;
    if (key === "path") {
      hasPath = true;
      out.push(` Path=${m.prefix}${rest.join("=").trim().replace(/^\//, "")}`);
    } else out.push(a);
  }
  if (!hasPath) out.push(` Path=${m.prefix}`);
  return out.join(";");
}

/** Origin or Referer the browser sent, mapped back to the HMI's own origin (as if on site). */
export function requestUrlToTarget(value: string, m: PrefixMount): string {
  if (value === m.public) return m.target;
  const base = m.public + m.prefix;
  return value.startsWith(base) ? `${m.target}/${value.slice(base.length)}` : value;
}

/** The script tag injected at the top of each page when the mount has the runtime shim. */
export function shimTag(m: PrefixMount): string {
  return `<script src="${m.prefix}${SHIM_PATH}"></script>`;
}

/** Rewrites an HTML document (parse5's streaming rewriter keeps untouched markup byte for byte). */
export async function rewriteHtml(html: string, m: PrefixMount): Promise<string> {
  const rw = new RewritingStream();
  let inStyle = false;
  let injected = !m.shim;
  const inject = (): void => {
    if (!injected) rw.emitRaw(shimTag(m));
    injected = true;
  };
  rw.on("startTag", (tag, raw) => {
    // The shim must run before any of the page's scripts: first thing in <head>, or before the first other element.
    if (tag.tagName !== "html" && tag.tagName !== "head") inject();
    let changed = false;
    const names = [...URL_ATTRIBUTES["*"]!, ...(URL_ATTRIBUTES[tag.tagName] ?? [])];
    for (const attr of tag.attrs) {
      const before = attr.value;
      if (names.includes(attr.name)) attr.value = rewriteUrl(attr.value, m);
      else if (attr.name === "srcset" || attr.name === "imagesrcset") attr.value = rewriteSrcset(attr.value, m);
      else if (attr.name === "style") attr.value = rewriteCss(attr.value, m);
      else if (attr.name === "content" && tag.tagName === "meta" && tag.attrs.some((a) => a.name === "http-equiv" && a.value.toLowerCase() === "refresh"))
        attr.value = rewriteRefresh(attr.value, m);
      changed ||= attr.value !== before;
    }
    if (changed) rw.emitStartTag(tag);
    else rw.emitRaw(raw);
    if (tag.tagName === "head") inject();
    inStyle = tag.tagName === "style" && !tag.selfClosing;
  });
  rw.on("endTag", (tag, raw) => {
    if (tag.tagName === "style") inStyle = false;
    rw.emitRaw(raw);
  });
  // Text inside <style> is raw text: rewrite it as CSS and emit it unescaped.
  rw.on("text", (_text, raw) => rw.emitRaw(inStyle ? rewriteCss(raw, m) : raw));
  const chunks: string[] = [];
  rw.on("data", (chunk: string) => chunks.push(chunk));
  const done = new Promise<void>((resolve, reject) => rw.once("end", resolve).once("error", reject));
  rw.end(html);
  await done;
  if (!injected) chunks.unshift(shimTag(m));
  return chunks.join("");
}

/**
 * The runtime shim: wraps the browser APIs through which scripts reach the server, so a URL built
 * at run time (`"wss://" + location.host + "/ws"`) gets the prefix too. It cannot reach what is
 * not wrapped (e.g. `location.href = "/x"`, `img.src = "/x"` set by script, URLs in web workers).
 */
export const SHIM_SOURCE = `"use strict";
(() => {
  const me = new URL(document.currentScript.src);
  const prefix = me.pathname.slice(0, me.pathname.length - ${JSON.stringify(SHIM_PATH)}.length - 1);
  const fix = (value) => {
    try {
      const url = new URL(String(value), location.href);
      const ours = url.host === location.host && /^(https?|wss?):$/.test(url.protocol);
      if (!ours || url.pathname === prefix || url.pathname.startsWith(prefix + "/")) return value;
      url.pathname = prefix + url.pathname;
      return url.href;
    } catch { return value; }
  };
  const nativeFetch = window.fetch;
  window.fetch = function (input, init) {
    return nativeFetch.call(this, input instanceof Request ? new Request(fix(input.url), input) : fix(input), init);
  };
  const open = XMLHttpRequest.prototype.open;
  XMLHttpRequest.prototype.open = function (method, url, ...rest) { return open.call(this, method, fix(url), ...rest); };
  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class WebSocket extends NativeWebSocket { constructor(url, protocols) { super(fix(url), protocols); } };
  const NativeEventSource = window.EventSource;
  window.EventSource = class EventSource extends NativeEventSource { constructor(url, options) { super(fix(url), options); } };
})();
`;
