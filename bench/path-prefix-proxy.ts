/**
 * A faithful PROTOTYPE of the alternative the portal did not take: every HMI under a path prefix
 * `https://<portal>/hmi/<key>/...` on the portal's own origin, with the rewriting of
 * prefix-rewrite.ts. Bench only (bench/hmi-modes.ts compares it with the portal's per-HMI host
 * names); loopback only, no authentication of its own.
 *
 * Like the portal it speaks HTTP/2 and HTTP/1.1 (WebSockets) on one TLS port, so the protocol is
 * not what the comparison measures. Requests outside `/hmi/` go to the Fernlink server as they
 * are: the portal and its API share the origin with the HMIs, as they would in a prefix design.
 * Each HMI is reached at `upstream` (a `fernlink connect --forward` port, so through the tunnel,
 * or the HMI itself) and is told it is addressed as `target`, its own origin.
 */
import http, { type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from "node:http";
import http2, { type Http2ServerRequest, type Http2ServerResponse } from "node:http2";
import https from "node:https";
import net, { type AddressInfo, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import tls from "node:tls";
import {
  type PrefixMount,
  requestUrlToTarget,
  rewriteCss,
  rewriteHtml,
  rewriteLocation,
  rewriteRefresh,
  rewriteSetCookie,
  SHIM_PATH,
  SHIM_SOURCE,
} from "./prefix-rewrite.js";

/** One HMI behind the prototype. */
export interface PrefixHmi {
  /** Path segment after `/hmi/`. */
  key: string;
  /** Where to open connections: a tunnel forward port or the HMI itself. */
  upstream: { host: string; port: number };
  /** The HMI's own origin (Host header it expects, URLs it writes). */
  target: string;
  shim: boolean;
}

/** Options of {@link startPathPrefixProxy}. */
export interface PathPrefixProxyOptions {
  hmis: PrefixHmi[];
  /** The Fernlink server everything outside `/hmi/` goes to. */
  portal: { host: string; port: number };
  tls: { key: string; cert: string };
  /** Host name the browser uses for the proxy (its public origin is `https://<name>:<port>`). */
  publicHost: string;
}

/** A running prototype. */
export interface PathPrefixProxy {
  port: number;
  origin: string;
  close(): Promise<void>;
}

type Request = IncomingMessage | Http2ServerRequest;
type Response = ServerResponse | Http2ServerResponse;

/** Portal cookies never go to an HMI (a prefix design must strip them; the same origin still lets scripts use them). */
const PORTAL_COOKIE = /^__Host-fernlink/;
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "http2-settings", "host"]);

function forwardable(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !name.startsWith(":") && !HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}

function hostOf(req: Request): string {
  return (req.headers as Record<string, string | undefined>)[":authority"] ?? req.headers.host ?? "";
}

/** Starts the prototype on 127.0.0.1 port 0. */
export async function startPathPrefixProxy(options: PathPrefixProxyOptions): Promise<PathPrefixProxy> {
  let origin = "";
  const agents = new Map(options.hmis.map((h) => [h.key, new http.Agent({ keepAlive: true, maxSockets: 8 })]));
  const portalAgent = new https.Agent({ keepAlive: true, rejectUnauthorized: false, servername: "localhost" });
  const mountOf = (h: PrefixHmi): PrefixMount => ({ prefix: `/hmi/${h.key}/`, target: h.target, public: origin, shim: h.shim });

  /** The HMI a path addresses and the path it has on the HMI. */
  const route = (url: string): { hmi: PrefixHmi; rest: string } | "slash" | undefined => {
    const m = /^\/hmi\/([^/?#]+)(\/[\s\S]*)?$/.exec(url);
    const hmi = m ? options.hmis.find((h) => h.key === m[1]) : undefined;
    if (!m || !hmi) return undefined;
    return m[2] === undefined ? "slash" : { hmi, rest: m[2] };
  };

  const requestHeaders = (req: Request, mount: PrefixMount): OutgoingHttpHeaders => {
    const out = forwardable(req.headers);
    out["host"] = new URL(mount.target).host;
    delete out["accept-encoding"]; // bodies are rewritten: ask for them uncompressed
    if (typeof req.headers.origin === "string") out["origin"] = requestUrlToTarget(req.headers.origin, mount);
    if (typeof req.headers.referer === "string") out["referer"] = requestUrlToTarget(req.headers.referer, mount);
    const cookies = String(req.headers.cookie ?? "")
      .split(";")
      .map((c) => c.trim())
      .filter((c) => c !== "" && !PORTAL_COOKIE.test(c));
    delete out["cookie"];
    if (cookies.length > 0) out["cookie"] = cookies.join("; ");
    return out;
  };

  const responseHeaders = (answer: IncomingMessage, mount: PrefixMount): OutgoingHttpHeaders => {
    const out = forwardable(answer.headers);
    if (typeof answer.headers.location === "string") out["location"] = rewriteLocation(answer.headers.location, mount);
    if (typeof answer.headers.refresh === "string") out["refresh"] = rewriteRefresh(answer.headers.refresh, mount);
    if (answer.headers["set-cookie"]) out["set-cookie"] = answer.headers["set-cookie"].map((c) => rewriteSetCookie(c, mount));
    return out;
  };

  function toHmi(req: Request, res: Response, hmi: PrefixHmi, rest: string): void {
    const mount = mountOf(hmi);
    if (rest === `/${SHIM_PATH}`) {
      res.writeHead(200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-store" });
      res.end(SHIM_SOURCE);
      return;
    }
    const upstream = http.request({ ...hmi.upstream, agent: agents.get(hmi.key)!, method: req.method, path: rest, headers: requestHeaders(req, mount) });
    upstream.on("response", (answer) => {
      const headers = responseHeaders(answer, mount);
      const type = String(answer.headers["content-type"] ?? "");
      const kind = /^text\/html/i.test(type) ? "html" : /^text\/css/i.test(type) ? "css" : undefined;
      if (!kind) {
        res.writeHead(answer.statusCode ?? 502, headers);
        answer.pipe(res as ServerResponse);
        return;
      }
      // HTML and CSS are read whole, rewritten, and sent with their new length.
      const chunks: Buffer[] = [];
      answer.on("data", (c: Buffer) => chunks.push(c));
      answer.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        void (kind === "html" ? rewriteHtml(text, mount) : Promise.resolve(rewriteCss(text, mount))).then((body) => {
          headers["content-length"] = Buffer.byteLength(body);
          res.writeHead(answer.statusCode ?? 502, headers);
          res.end(body);
        });
      });
    });
    upstream.on("error", () => fail(res, 502, "the HMI did not answer"));
    // writableEnded, not writableFinished: an HTTP/2 response cancelled by the browser (an EventSource
    // left behind by a reload) reads writableFinished = true, and its upstream would never close.
    res.on("close", () => {
      if (!res.writableEnded) upstream.destroy();
    });
    (req as IncomingMessage).pipe(upstream);
  }

  function toPortal(req: Request, res: Response): void {
    const headers = forwardable(req.headers);
    headers["host"] = hostOf(req);
    const upstream = https.request({ ...options.portal, agent: portalAgent, method: req.method, path: req.url, headers });
    upstream.on("response", (answer) => {
      res.writeHead(answer.statusCode ?? 502, forwardable(answer.headers));
      answer.pipe(res as ServerResponse);
    });
    upstream.on("error", () => fail(res, 502, "the portal did not answer"));
    (req as IncomingMessage).pipe(upstream);
  }

  function fail(res: Response, status: number, text: string): void {
    if (res.headersSent) return void res.destroy();
    res.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
    res.end(`${text}\n`);
  }

  const onRequest = (req: Request, res: Response): void => {
    const r = route(req.url ?? "/");
    if (r === "slash") {
      res.writeHead(301, { location: `${(req.url ?? "").split("?")[0]}/` });
      res.end();
    } else if (r) toHmi(req, res, r.hmi, r.rest);
    else toPortal(req, res);
  };

  /** WebSocket upgrades under a prefix: the request goes to the HMI with the prefix removed, then bytes flow raw. */
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on("error", () => {});
    const r = route(req.url ?? "/");
    if (!r || r === "slash") return void socket.end("HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
    const headers = requestHeaders(req, mountOf(r.hmi));
    headers["connection"] = "Upgrade";
    headers["upgrade"] = req.headers.upgrade ?? "websocket";
    const upstream = net.connect(r.hmi.upstream);
    upstream.on("error", () => socket.destroy());
    socket.on("close", () => upstream.destroy());
    upstream.on("close", () => socket.destroy());
    const lines = [`${req.method ?? "GET"} ${r.rest} HTTP/1.1`];
    for (const [name, value] of Object.entries(headers))
      for (const v of Array.isArray(value) ? value : [value]) if (v !== undefined) lines.push(`${name}: ${String(v)}`);
    upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
    if (head.length > 0) upstream.write(head);
    upstream.pipe(socket);
    socket.pipe(upstream);
  };

  const h2 = http2.createServer({}, onRequest);
  h2.on("session", (s) => s.on("error", () => {}));
  const h1 = http.createServer(onRequest);
  h1.on("upgrade", onUpgrade);
  const sockets = new Set<Socket>();
  const server = tls.createServer({ key: options.tls.key, cert: options.tls.cert, ALPNProtocols: ["h2", "http/1.1"] }, (socket) => {
    socket.on("error", () => {});
    if (socket.alpnProtocol === "h2") h2.emit("connection", socket);
    else h1.emit("connection", socket);
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });
  origin = `https://${options.publicHost}:${port}`;
  return {
    port,
    origin,
    close: () =>
      new Promise<void>((resolve) => {
        for (const a of agents.values()) a.destroy();
        portalAgent.destroy();
        for (const s of sockets) s.destroy();
        h2.close();
        h1.close();
        server.close(() => resolve());
      }),
  };
}
