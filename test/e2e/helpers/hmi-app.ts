import { randomBytes } from "node:crypto";
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { type WebSocket, WebSocketServer } from "ws";

/**
 * A small but real HMI web application on 127.0.0.1 — what a machine's panel serves, and so what
 * the portal's web proxy must carry through the tunnel:
 *
 *   GET  /            302 → `/hmi/` (absolute-path Location)
 *   GET  /old         302 → `<own origin>/hmi/` (absolute-URL Location, which a proxy must rewrite)
 *   GET  /hmi/        the page: /static/hmi.css, /static/hmi.js, /static/logo.svg (image and icon);
 *                     no inline script or style, so it runs under any CSP; "Operator: <name>" and
 *                     "Site: <hmi_site>" from the cookies
 *   POST /hmi/login   form field `operator` → 303 /hmi/ setting `hmi_session` (Path=/; HttpOnly) and
 *                     `hmi_site=press-7` with `Domain=127.0.0.1` (arrives through a proxy only if it strips Domain)
 *   POST /hmi/logout  clears both cookies → 303 /hmi/
 *   GET  /api/tags    JSON tag values, fetched by the page with an absolute path
 *   GET  /events      server-sent events `tick 1`, `tick 2`… every 200 ms
 *   GET  /ws          WebSocket: `{speed}` every 200 ms from 42 on; answers `{setpoint}` with `{ack}`
 *
 * The page writes each feature's state into an element with a stable accessible name (see
 * {@link HMI_STATUS}) and the app records every request it sees in `seen`.
 */

/** Accessible names (aria-label) of the page's status lines and what they read when all works. */
export const HMI_STATUS = {
  stylesheet: { name: "Stylesheet status", ok: "Stylesheet loaded" },
  image: { name: "Image status", ok: "Image loaded" },
  websocket: { name: "WebSocket status", ok: "WebSocket: connected" },
  speed: { name: "Speed", ok: /^Speed: \d+$/ },
  sse: { name: "Server-sent events", ok: /^SSE: tick \d+$/ },
  tags: { name: "Tags", ok: "Tags: speed=42, temperature=61.5, running=true" },
  operator: { name: "Operator", ok: /^Operator: .+$/ },
  site: { name: "Site cookie", ok: "Site: press-7" },
  setpoint: { name: "Setpoint", ok: /^Setpoint: \d+ acknowledged$/ },
} as const;

/** One request as the app saw it (WebSocket upgrades included). */
export interface HmiRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  host: string | undefined;
  /** The raw Cookie header. */
  cookie: string | undefined;
  /** Parsed Cookie header, name → value. */
  cookies: Record<string, string>;
  origin: string | undefined;
  upgrade: boolean;
  headers: IncomingHttpHeaders;
}

/** Everything the app saw, for assertions (e.g. that `__Host-fernlink` never arrived). */
export interface HmiSeen {
  requests: HmiRequest[];
  /** The `/ws` upgrade requests (their Origin, Host and Cookie). */
  websockets: HmiRequest[];
  /** Text messages the page sent over the WebSocket. */
  wsMessages: string[];
  /** Operator names signed in through the form. */
  logins: string[];
}

/** A running HMI app. */
export interface HmiApp {
  port: number;
  /** Its own origin, `http(s)://127.0.0.1:<port>` (no trailing slash). */
  url: string;
  seen: HmiSeen;
  /** Every cookie name that arrived in any request. */
  cookieNamesSeen(): Set<string>;
  close(): Promise<void>;
}

/** Options of {@link startHmiApp}. */
export interface HmiAppOptions {
  /** Serve HTTPS with this key and certificate (PEM) instead of plain HTTP; cookies get `Secure`. */
  tls?: { key: string; cert: string };
  /** Interval of WebSocket values and server-sent events; 200 ms. */
  tickMs?: number;
}

const SESSION_COOKIE = "hmi_session";
const SITE_COOKIE = "hmi_site";
const OPERATOR = /^[A-Za-z0-9 ._-]{1,40}$/;
const TAGS = {
  tags: [
    { name: "speed", value: 42 },
    { name: "temperature", value: 61.5 },
    { name: "running", value: true },
  ],
};

/** Starts the app on 127.0.0.1 port 0. */
export async function startHmiApp(options: HmiAppOptions = {}): Promise<HmiApp> {
  const seen: HmiSeen = { requests: [], websockets: [], wsMessages: [], logins: [] };
  const sessions = new Map<string, string>();
  const tickMs = options.tickMs ?? 200;
  const secure = options.tls !== undefined;
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();
  let origin = "";

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const record = recordOf(req, false);
    seen.requests.push(record);
    const path = (req.url ?? "/").split("?")[0];
    const operator = sessions.get(record.cookies[SESSION_COOKIE] ?? "");
    const route = `${req.method} ${path}`;
    switch (route) {
      case "GET /":
        return void redirect(res, 302, "/hmi/");
      case "GET /old":
        return void redirect(res, 302, `${origin}/hmi/`);
      case "GET /hmi/":
        return void send(res, 200, "text/html; charset=utf-8", page(operator, record.cookies[SITE_COOKIE]));
      case "POST /hmi/login":
        return void readForm(req).then(
          (form) => {
            const name = form.get("operator") ?? "";
            if (!OPERATOR.test(name)) return send(res, 400, "text/plain; charset=utf-8", `invalid operator name ${JSON.stringify(name)}\n`);
            const token = randomBytes(16).toString("hex");
            sessions.set(token, name);
            seen.logins.push(name);
            const flags = secure ? "; Secure" : "";
            res.setHeader("set-cookie", [`${SESSION_COOKIE}=${token}; Path=/; HttpOnly${flags}`, `${SITE_COOKIE}=press-7; Path=/; Domain=127.0.0.1${flags}`]);
            return redirect(res, 303, "/hmi/");
          },
          () => res.destroy(),
        );
      case "POST /hmi/logout":
        sessions.delete(record.cookies[SESSION_COOKIE] ?? "");
        res.setHeader("set-cookie", [`${SESSION_COOKIE}=; Path=/; Max-Age=0`, `${SITE_COOKIE}=; Path=/; Domain=127.0.0.1; Max-Age=0`]);
        return void redirect(res, 303, "/hmi/");
      case "GET /static/hmi.css":
        return void send(res, 200, "text/css; charset=utf-8", CSS);
      case "GET /static/hmi.js":
        return void send(res, 200, "text/javascript; charset=utf-8", SCRIPT);
      case "GET /static/logo.svg":
        return void send(res, 200, "image/svg+xml", LOGO);
      case "GET /api/tags":
        return void send(res, 200, "application/json", JSON.stringify(TAGS));
      case "GET /events":
        return void events(req, res);
      default:
        return void send(res, 404, "text/plain; charset=utf-8", `no such page: ${route}\n`);
    }
  };

  const events = (req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store" });
    res.write("retry: 1000\n: hello\n\n");
    let n = 0;
    const timer = setInterval(() => {
      n++;
      res.write(`id: ${n}\ndata: tick ${n}\n\n`);
    }, tickMs);
    timers.add(timer);
    req.once("close", () => {
      clearInterval(timer);
      timers.delete(timer);
    });
  };

  const wss = new WebSocketServer({ noServer: true });
  wss.on("connection", (ws: WebSocket) => {
    let speed = 42;
    ws.send(JSON.stringify({ speed }));
    const timer = setInterval(() => ws.send(JSON.stringify({ speed: ++speed })), tickMs);
    timers.add(timer);
    ws.on("message", (data, isBinary) => {
      if (isBinary) return;
      const text = data.toString();
      seen.wsMessages.push(text);
      const message = parseJson(text);
      if (typeof message?.["setpoint"] === "number") ws.send(JSON.stringify({ ack: message["setpoint"] }));
    });
    ws.on("close", () => {
      clearInterval(timer);
      timers.delete(timer);
    });
    ws.on("error", () => {});
  });

  const server = options.tls ? https.createServer({ key: options.tls.key, cert: options.tls.cert }, handle) : http.createServer(handle);
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const record = recordOf(req, true);
    seen.requests.push(record);
    if ((req.url ?? "").split("?")[0] !== "/ws") {
      socket.end("HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
      return;
    }
    seen.websockets.push(record);
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });
  origin = `${secure ? "https" : "http"}://127.0.0.1:${port}`;

  return {
    port,
    url: origin,
    seen,
    cookieNamesSeen: () => new Set(seen.requests.flatMap((r) => Object.keys(r.cookies))),
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearInterval(timer);
        for (const ws of wss.clients) ws.terminate();
        for (const socket of sockets) socket.destroy();
        wss.close();
        server.close(() => resolve());
      }),
  };
}

function recordOf(req: IncomingMessage, upgrade: boolean): HmiRequest {
  return {
    method: req.method ?? "",
    url: req.url ?? "",
    host: req.headers.host,
    cookie: req.headers.cookie,
    cookies: parseCookies(req.headers.cookie),
    origin: req.headers.origin,
    upgrade,
    headers: req.headers,
  };
}

function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) cookies[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return cookies;
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let body = "";
  for await (const chunk of req) {
    body += String(chunk);
    if (body.length > 10_000) break;
  }
  return new URLSearchParams(body);
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body), "cache-control": "no-store" });
  res.end(body);
}

function redirect(res: ServerResponse, status: 302 | 303, location: string): void {
  res.writeHead(status, { location, "content-length": 0, "cache-control": "no-store" });
  res.end();
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(operator: string | undefined, site: string | undefined): string {
  const s = HMI_STATUS;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Press 7 HMI</title>
<link rel="icon" href="/static/logo.svg">
<link rel="stylesheet" href="/static/hmi.css">
<script src="/static/hmi.js" defer></script>
</head>
<body>
<h1><img id="logo" src="/static/logo.svg" alt="Press 7 logo" width="32" height="32"> Press 7 HMI</h1>
<p id="stylesheet" role="status" aria-label="${s.stylesheet.name}">Stylesheet: pending</p>
<p id="image" role="status" aria-label="${s.image.name}">Image: pending</p>
<p id="websocket" role="status" aria-label="${s.websocket.name}">WebSocket: connecting</p>
<p id="speed" role="status" aria-label="${s.speed.name}">Speed: -</p>
<p id="sse" role="status" aria-label="${s.sse.name}">SSE: waiting</p>
<p id="tags" role="status" aria-label="${s.tags.name}">Tags: loading</p>
<p id="operator" role="status" aria-label="${s.operator.name}">Operator: ${operator === undefined ? "none" : escapeHtml(operator)}</p>
<p id="site" role="status" aria-label="${s.site.name}">Site: ${site === undefined ? "none" : escapeHtml(site)}</p>
<p id="setpoint" role="status" aria-label="${s.setpoint.name}">Setpoint: none</p>
<form method="post" action="/hmi/login">
<label>Operator name <input name="operator" autocomplete="off"></label>
<button type="submit">Sign in</button>
</form>
<form method="post" action="/hmi/logout"><button type="submit">Sign out</button></form>
<form id="setpoint-form">
<label>Speed setpoint <input id="setpoint-value" name="setpoint" type="number" value="55"></label>
<button type="submit">Send setpoint</button>
</form>
</body>
</html>
`;
}

const CSS = `:root { --hmi-stylesheet: loaded; }
body { font-family: sans-serif; background: #10243a; color: #e8f0f8; margin: 2rem; }
h1 { color: #7fd1ae; display: flex; align-items: center; gap: 0.5rem; }
[role="status"] { font-family: monospace; font-size: 1.1rem; margin: 0.3rem 0; }
form { margin-top: 1rem; }
`;

const LOGO =
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32" width="32" height="32"><circle cx="16" cy="16" r="14" fill="#7fd1ae"/>` +
  `<text x="16" y="21" font-size="14" text-anchor="middle" fill="#10243a">P7</text></svg>`;

/** The page's script (served as a file; the page has no inline script). */
const SCRIPT = `"use strict";
const $ = (id) => document.getElementById(id);
const show = (id, text) => { $(id).textContent = text; };

window.addEventListener("load", () => {
  const marker = getComputedStyle(document.documentElement).getPropertyValue("--hmi-stylesheet").trim();
  show("stylesheet", marker === "loaded" ? "Stylesheet loaded" : "Stylesheet missing");
  const logo = $("logo");
  show("image", logo.complete && logo.naturalWidth > 0 ? "Image loaded" : "Image missing");
});

const ws = new WebSocket((location.protocol === "https:" ? "wss" : "ws") + "://" + location.host + "/ws");
ws.addEventListener("open", () => {
  show("websocket", "WebSocket: connected");
  ws.send(JSON.stringify({ hello: "hmi.js" }));
});
ws.addEventListener("close", (e) => show("websocket", "WebSocket: closed (" + e.code + ")"));
ws.addEventListener("message", (e) => {
  const message = JSON.parse(e.data);
  if ("speed" in message) show("speed", "Speed: " + message.speed);
  if ("ack" in message) show("setpoint", "Setpoint: " + message.ack + " acknowledged");
});
$("setpoint-form").addEventListener("submit", (e) => {
  e.preventDefault();
  ws.send(JSON.stringify({ setpoint: Number($("setpoint-value").value) }));
});

const events = new EventSource("/events");
events.addEventListener("message", (e) => show("sse", "SSE: " + e.data));
events.addEventListener("error", () => { if (events.readyState === EventSource.CLOSED) show("sse", "SSE: failed"); });

fetch("/api/tags", { headers: { accept: "application/json" } })
  .then((r) => (r.ok ? r.json() : Promise.reject(new Error("HTTP " + r.status))))
  .then((body) => show("tags", "Tags: " + body.tags.map((t) => t.name + "=" + t.value).join(", ")))
  .catch((err) => show("tags", "Tags: failed (" + err.message + ")"));
`;
