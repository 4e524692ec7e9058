import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The built web portal: `index.html` and `assets/` (app.js, app.css, chunks/, favicon.svg), written
 * by scripts/build-ui.mjs into dist/web, the directory this module is compiled into. Serve only
 * `/` (index.html) and `/assets/*` from it: the directory also holds the server's own modules.
 */
export function portalAssetsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // In the CLI's one-file bundle (dist/cli.js, scripts/build-cli.mjs) this module runs from dist/.
  return basename(here) === "web" ? here : join(here, "web");
}

/**
 * Content-Security-Policy of the portal page. The bundle needs no inline script or style and no
 * eval; noVNC draws on a canvas and may set its cursor from a data: URL; fetch, EventSource and
 * the VNC WebSocket go to the portal's own origin (CSP3 lets 'self' match wss: on the same host;
 * verified with Chromium).
 */
export const PORTAL_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");
