import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, relative, sep } from "node:path";
import { type Context, Hono } from "hono";
import { getCookie } from "hono/cookie";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { SESSION_COOKIE } from "../protocol/api-session.js";
import { FernlinkError } from "../protocol/errors.js";
import type { Logger } from "../shared/log.js";
import { MESSAGE_PAGE_CSP, messagePage } from "./pages.js";

/** What the portal's own routes need from the server. */
export interface PortalDeps {
  /** Built files: `index.html` and `assets/`. */
  assetsDir: string;
  /** Content-Security-Policy of the portal's pages. */
  csp: string;
  /**
   * Checks the session and the access rules for opening web target `targetId`, and returns
   * the URL on the target's own host that signs the browser in there (a one-time launch code).
   */
  launch(sessionToken: string | undefined, targetId: string, source: string, host: string, reason?: string): Promise<string>;
  log: Logger;
}

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
};

/** Reads the built portal into memory once: it is small, and then no request touches the disk. Throws when it is not built. */
function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const walk = (at: string): void => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      if (statSync(path).isDirectory()) walk(path);
      else {
        const body = readFileSync(path);
        const url = `/${relative(dir, path).split(sep).join("/")}`;
        assets.set(url, {
          body,
          type: TYPES[extname(name)] ?? "application/octet-stream",
          etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`,
        });
      }
    }
  };
  // The directory also holds the server's own modules: only index.html and assets/ are served.
  walk(join(dir, "assets"));
  const index = readFileSync(join(dir, "index.html"));
  assets.set("/index.html", { body: index, type: TYPES[".html"]!, etag: `"${createHash("sha256").update(index).digest("base64url").slice(0, 22)}"` });
  return assets;
}

/** Headers of every portal answer: no framing, no sniffing, no referrer to HMIs. */
const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "same-origin",
  "cross-origin-opener-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=()",
};

type PortalEnv = { Bindings: { incoming: { socket: { remoteAddress?: string } } } };

function messageResponse(c: Context<PortalEnv>, status: ContentfulStatusCode, title: string, message: string): Response {
  return c.html(messagePage(title, message, { href: "/", text: "Back to the portal" }), status, {
    "content-security-policy": MESSAGE_PAGE_CSP,
    "cache-control": "no-store",
  });
}

/** The web portal's own routes: the single-page app, its assets, and the hand-over to HMI hosts. */
export function createPortalApp(deps: PortalDeps): Hono<PortalEnv> {
  let assets: Map<string, Asset>;
  try {
    assets = loadAssets(deps.assetsDir);
  } catch (err) {
    throw new FernlinkError("internal", `the web portal is not built (no index.html and assets/ in ${deps.assetsDir}); run: npm run build`, { cause: err });
  }
  const index = assets.get("/index.html")!;
  const app = new Hono<PortalEnv>();

  app.use("*", async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.header(name, value);
  });

  app.get("/", (c) =>
    c.body(new Uint8Array(index.body), 200, { "content-type": index.type, "content-security-policy": deps.csp, "cache-control": "no-cache" }),
  );
  app.get("/assets/*", (c) => {
    const asset = assets.get(c.req.path);
    if (!asset) return messageResponse(c, 404, "Not found", `no such file: ${c.req.path}`);
    if (c.req.header("if-none-match") === asset.etag) return c.body(null, 304, { etag: asset.etag });
    return c.body(new Uint8Array(asset.body), 200, { "content-type": asset.type, etag: asset.etag, "cache-control": "no-cache" });
  });

  app.get("/web/open/:id", async (c) => {
    try {
      const url = await deps.launch(
        getCookie(c, SESSION_COOKIE) || undefined,
        c.req.param("id"),
        c.env?.incoming?.socket?.remoteAddress ?? "unknown",
        c.req.header("host") ?? new URL(c.req.url).host,
        c.req.query("reason"),
      );
      return c.redirect(url, 302);
    } catch (err) {
      const error = err instanceof FernlinkError ? err : new FernlinkError("internal", "the HMI could not be opened", { cause: err });
      if (!(err instanceof FernlinkError)) deps.log.error("opening a web target failed", { error: String(err) });
      const title =
        error.code === "unauthenticated"
          ? "Signed out"
          : error.code === "device-offline"
            ? "Device offline"
            : error.status === 403
              ? "Access refused"
              : "The HMI cannot be opened";
      return messageResponse(c, error.status as ContentfulStatusCode, title, error.message);
    }
  });

  app.notFound((c) => messageResponse(c, 404, "Not found", `no page ${c.req.path}; the portal starts at /`));
  return app;
}
