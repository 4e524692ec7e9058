// Bundles the web portal (src/web/ui, Preact) with esbuild into dist/web/assets and writes the
// dist/web/index.html shell. Run by `npm run build` after tsc has type-checked the UI.
//
// The output works under the portal's CSP (no inline script or style, no eval, nothing loaded from
// other hosts): index.html only links /assets/app.css and /assets/app.js. noVNC is split into a
// chunk that only the VNC page loads (ESM code splitting; noVNC uses top-level await anyway).

import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outRoot = join(root, "dist", "web");
const assets = join(outRoot, "assets");

/** Browsers the portal supports; all have ESM, top-level await and <dialog>. */
const TARGET = ["chrome100", "edge100", "firefox100", "safari15.4"];

/** Packages that must never reach the bundle (the server-side schemas pull in zod). */
const FORBIDDEN = [/node_modules\/zod\//, /node_modules\/hono\//, /^node:/];

const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<meta name="color-scheme" content="light">
<title>Fernlink</title>
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/app.css">
<script type="module" src="/assets/app.js"></script>
</head>
<body>
<div id="app"><noscript>The Fernlink portal needs JavaScript. The command line (fernlink) works without it.</noscript></div>
</body>
</html>
`;

const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#0f172a"/><path d="M9 24V8h13v3.5h-9v3.2h8v3.5h-8V24z" fill="#fff"/></svg>
`;

/** Third-party licences shipped with the bundle (esbuild keeps their legal comments out of it). */
const LICENSES = [
  ["preact", "node_modules/preact/LICENSE"],
  ["@novnc/novnc (MPL-2.0; source: https://github.com/novnc/noVNC)", "node_modules/@novnc/novnc/LICENSE.txt"],
  ["pako (bundled in noVNC)", "node_modules/@novnc/novnc/vendor/pako/LICENSE"],
];

async function licences() {
  const parts = [];
  for (const [name, file] of LICENSES) parts.push(`==== ${name} ====\n\n${(await readFile(join(root, file), "utf8")).trim()}\n`);
  return parts.join("\n");
}

await rm(assets, { recursive: true, force: true });
await mkdir(assets, { recursive: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: { app: "src/web/ui/main.tsx" },
  outdir: assets,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "browser",
  target: TARGET,
  minify: true,
  sourcemap: "linked",
  legalComments: "none",
  tsconfig: "src/web/ui/tsconfig.json",
  jsx: "automatic",
  jsxImportSource: "preact",
  entryNames: "[name]",
  chunkNames: "chunks/[name]-[hash]",
  assetNames: "[name]-[hash]",
  define: { "process.env.NODE_ENV": '"production"' },
  metafile: true,
  logLevel: "warning",
});

const inputs = Object.keys(result.metafile.inputs);
const forbidden = inputs.filter((i) => FORBIDDEN.some((re) => re.test(i)));
if (forbidden.length > 0) {
  console.error(`build-ui: server-only modules reached the browser bundle:\n  ${forbidden.join("\n  ")}\nImport protocol types with "import type".`);
  process.exit(1);
}

await writeFile(join(outRoot, "index.html"), INDEX_HTML);
await writeFile(join(assets, "favicon.svg"), FAVICON);
await writeFile(join(assets, "THIRD-PARTY-LICENSES.txt"), await licences());

const rows = [];
for (const [file, info] of Object.entries(result.metafile.outputs)) {
  if (file.endsWith(".map")) continue;
  const gz = gzipSync(await readFile(join(root, file))).length;
  rows.push(`  ${relative(root, join(root, file)).padEnd(48)} ${String(info.bytes).padStart(8)} B  ${String(gz).padStart(7)} B gzip`);
}
console.log(`build-ui: wrote dist/web/index.html and\n${rows.join("\n")}`);
