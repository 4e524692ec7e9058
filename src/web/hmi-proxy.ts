import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { isIP, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import tls from "node:tls";
import { FernlinkError } from "../protocol/errors.js";
import type { GrantSubject, WebGrants } from "../protocol/web-grants.js";
import type { Logger } from "../shared/log.js";
import { foreignRequestRefusal } from "./fetch-metadata.js";
import { type HmiOrigins, hmiRequestHeaders, hmiResponseHeaders, readCookie, responseHead, WEB_GRANT_COOKIE } from "./header-rewrite.js";
import { MESSAGE_PAGE_CSP, messagePage } from "./pages.js";
import { splitHostHeader, webTargetIdOf, webTargetOrigin } from "./web-host.js";

/** An HMI as the proxy needs it: where it is, and a way to open a tunnel stream to it. */
export interface HmiTarget {
  scheme: "http" | "https";
  host: string;
  port: number;
  /** The page the HMI opens on. */
  path: string;
  /** Opens an authorised, audited stream to the HMI (rejects with a FernlinkError). */
  open(): Promise<Duplex>;
}

/** What the proxy needs from the server. */
export interface HmiProxyDeps {
  /** The portal's web domain; HMIs live on `w-<id>.<domain>`. */
  domain: string;
  grants: WebGrants;
  /** Checks that the session still holds and finds the target; rejects with a FernlinkError. */
  resolve(targetId: string, sessionToken: string, source: string, reason?: string): Promise<HmiTarget>;
  log: Logger;
}

type Request = IncomingMessage | Http2ServerRequest;
type Response = ServerResponse | Http2ServerResponse;

/** A browser on an HMI host, with what it asks for. */
interface Visit {
  targetId: string;
  port: number | undefined;
  origins?: HmiOrigins;
}

const LAUNCH_PATH = "/.fernlink/launch";
/** Connections kept open per grant towards its HMI: about what a browser opens per host. */
const MAX_SOCKETS_PER_GRANT = 8;
/** How long a kept connection to an HMI may sit unused before it (and its tunnel stream) is closed. */
const IDLE_CONNECTION_MS = 30_000;
/** How often connections kept for grants that ended are closed. */
const AGENT_SWEEP_MS = 60_000;

function hostOf(req: Request): string {
  const h2 = (req.headers as Record<string, string | undefined>)[":authority"];
  return h2 ?? req.headers.host ?? "";
}

function targetOriginOf(t: HmiTarget): string {
  const host = isIP(t.host) === 6 ? `[${t.host}]` : t.host;
  const standard = (t.scheme === "http" && t.port === 80) || (t.scheme === "https" && t.port === 443);
  return `${t.scheme}://${host}${standard ? "" : `:${t.port}`}`;
}

/** TLS to an HTTPS HMI over the tunnel stream. HMIs ship self-signed certificates; the tunnel is what is authenticated. */
function overTls(stream: Duplex, target: HmiTarget): Duplex {
  return tls.connect({ socket: stream, rejectUnauthorized: false, ALPNProtocols: ["http/1.1"], ...(isIP(target.host) ? {} : { servername: target.host }) });
}

function errorTitle(err: FernlinkError): string {
  switch (err.code) {
    case "device-offline":
      return "Device offline";
    case "forbidden":
    case "target-not-allowed":
      return "Access refused";
    case "unauthenticated":
      return "Signed out";
    case "remote-access-off":
      return "Switched off on site";
    default:
      return "The HMI cannot be opened";
  }
}

/**
 * Serves the HMI host names: a browser that brings a launch code from the portal gets a
 * grant cookie for this host, and each request it makes is passed through a tunnel stream
 * with the headers rewritten (see header-rewrite.ts). WebSocket upgrades pass through raw.
 */
export function createHmiProxy(deps: HmiProxyDeps) {
  const agents = new Map<string, http.Agent>();
  // Grants end (expiry, sign-out); their kept connections go with them.
  const sweep = setInterval(() => {
    for (const [grant, agent] of agents) {
      deps.grants.holds(grant).then(
        (holds) => {
          if (holds || agents.get(grant) !== agent) return;
          agent.destroy();
          agents.delete(grant);
        },
        (err: unknown) => deps.log.warn("checking an HMI grant failed", { error: String(err) }),
      );
    }
  }, AGENT_SWEEP_MS);
  sweep.unref();

  const portalLink = (port: number | undefined) => ({
    href: `${port === undefined || port === 443 ? `https://${deps.domain}` : `https://${deps.domain}:${port}`}/`,
    text: "Open the Fernlink portal",
  });

  function fail(res: Response, visit: Visit | undefined, err: unknown): void {
    const error = err instanceof FernlinkError ? err : new FernlinkError("target-unreachable", "the HMI did not answer through the tunnel", { cause: err });
    if (!(err instanceof FernlinkError)) deps.log.debug("HMI request failed", { error: String(err) });
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // A failed writeHead may have left the HMI's headers (a content-length among them) on the answer.
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    const body = messagePage(errorTitle(error), error.message, portalLink(visit?.port));
    res.writeHead(error.status, { "content-type": "text/html; charset=utf-8", "content-security-policy": MESSAGE_PAGE_CSP, "cache-control": "no-store" });
    res.end(body);
  }

  function visitOf(req: Request): Visit | undefined {
    const { name, port } = splitHostHeader(hostOf(req));
    const targetId = webTargetIdOf(name, deps.domain);
    return targetId ? { targetId, port } : undefined;
  }

  async function grantSubject(grant: string, targetId: string): Promise<GrantSubject | undefined> {
    try {
      return await deps.grants.lookup(grant, targetId);
    } catch (err) {
      throw new FernlinkError("internal", "the HMI's sign-in could not be checked", { cause: err });
    }
  }

  async function authorised(req: Request, visit: Visit): Promise<{ grant: string; target: HmiTarget }> {
    const grant = readCookie(req.headers.cookie, WEB_GRANT_COOKIE);
    const subject = grant ? await grantSubject(grant, visit.targetId) : undefined;
    if (!grant || !subject) throw new FernlinkError("unauthenticated", "open this HMI from the Fernlink portal: the link there signs this page in");
    try {
      const target = await deps.resolve(visit.targetId, subject.sessionToken, req.socket.remoteAddress ?? "unknown", subject.reason);
      visit.origins = { target: targetOriginOf(target), public: webTargetOrigin(visit.targetId, deps.domain, visit.port) };
      return { grant, target };
    } catch (err) {
      if (err instanceof FernlinkError && err.code === "unauthenticated") {
        // The session ended: so did every grant it holds, on every node.
        await deps.grants
          .endSession(subject.sessionToken)
          .catch((cause: unknown) => deps.log.warn("ending the grants of a session failed", { error: String(cause) }));
        agents.get(grant)?.destroy();
        agents.delete(grant);
      }
      throw err;
    }
  }

  function agentFor(grant: string, target: HmiTarget): http.Agent {
    let agent = agents.get(grant);
    if (!agent) {
      agent = new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS_PER_GRANT, maxFreeSockets: MAX_SOCKETS_PER_GRANT });
      // Every new connection to the HMI is a new tunnel stream, authorised and audited.
      (agent as unknown as { createConnection: unknown }).createConnection = (_options: unknown, done: (err: Error | null, socket?: Duplex) => void) => {
        target.open().then(
          (stream) => {
            // As a TCP socket without allowHalfOpen: when the HMI closes a kept connection (its
            // keep-alive timeout), close ours too, or the next request goes into it and hangs.
            stream.once("end", () => stream.end());
            const socket = target.scheme === "https" ? overTls(stream, target) : stream;
            // An unused kept connection times out and the agent closes it, ending its tunnel stream.
            (socket as Duplex & { setTimeout(ms: number): unknown }).setTimeout(IDLE_CONNECTION_MS);
            done(null, socket);
          },
          (err: unknown) => done(err instanceof Error ? err : new Error(String(err))),
        );
        return undefined;
      };
      agents.set(grant, agent);
    }
    return agent;
  }

  async function launch(req: Request, res: Response, visit: Visit): Promise<void> {
    const code = new URL(req.url ?? "/", "https://x").searchParams.get("code") ?? "";
    let redeemed: { grant: string; path: string } | undefined;
    try {
      redeemed = await deps.grants.redeem(code, visit.targetId);
    } catch (err) {
      deps.log.error("redeeming an HMI launch code failed", { error: String(err) });
      return fail(res, visit, new FernlinkError("internal", "the HMI could not be signed in; open it again from the portal", { cause: err }));
    }
    if (!redeemed)
      return fail(res, visit, new FernlinkError("unauthenticated", "this link to the HMI has expired or was used already; open the HMI again from the portal"));
    res.writeHead(302, {
      // The target's own path, stored with the code: nothing from the URL goes into Location.
      location: redeemed.path,
      "set-cookie": `${WEB_GRANT_COOKIE}=${redeemed.grant}; Path=/; Secure; HttpOnly; SameSite=Lax`,
      "cache-control": "no-store",
    });
    res.end();
  }

  async function handle(req: Request, res: Response): Promise<void> {
    const visit = visitOf(req);
    if (!visit) return fail(res, undefined, new FernlinkError("not-found", "no HMI is published under this host name"));
    if ((req.url ?? "").split("?")[0] === LAUNCH_PATH) return launch(req, res, visit);
    try {
      const foreign = foreignRequestRefusal(req.method ?? "GET", req.headers, webTargetOrigin(visit.targetId, deps.domain, visit.port), false);
      if (foreign) throw new FernlinkError("forbidden", foreign);
      const { grant, target } = await authorised(req, visit);
      const upstream = http.request({
        agent: agentFor(grant, target),
        method: req.method,
        path: req.url ?? "/",
        headers: hmiRequestHeaders(req.headers, visit.origins!),
      });
      upstream.on("response", (answer) => {
        const status = answer.statusCode ?? 0;
        if (status < 200 || status > 599) {
          answer.destroy();
          return fail(res, visit, new FernlinkError("target-refused", `the HMI answered with status ${status}, which the portal cannot pass on`));
        }
        try {
          res.writeHead(answer.statusCode ?? 502, hmiResponseHeaders(answer.headers, visit.origins!));
        } catch (err) {
          // A header HTTP/2 cannot carry: answer 502 rather than let the HMI's reply reach the server's error path.
          answer.destroy();
          return fail(
            res,
            visit,
            new FernlinkError(
              "target-refused",
              `the HMI answered with a header the portal cannot pass on (${err instanceof Error ? err.message : String(err)})`,
            ),
          );
        }
        answer.pipe(res as ServerResponse);
        answer.on("error", () => res.destroy());
      });
      upstream.on("error", (err) => fail(res, visit, err));
      res.on("close", () => {
        // writableEnded, not writableFinished: an HTTP/2 stream the browser cancelled reads as finished.
        if (!res.writableEnded) upstream.destroy();
      });
      (req as IncomingMessage).pipe(upstream);
    } catch (err) {
      fail(res, visit, err);
    }
  }

  /**
   * A WebSocket (or other) upgrade on an HMI host: the request goes upstream with its
   * headers rewritten, the HMI's answer (101 or not) comes back rewritten like any other,
   * then bytes flow raw.
   */
  async function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on("error", () => {});
    const visit = visitOf(req);
    const refuse = (err: unknown): void => {
      const error = err instanceof FernlinkError ? err : new FernlinkError("target-unreachable", "the HMI did not answer through the tunnel", { cause: err });
      if (!socket.writable) return void socket.destroy();
      socket.end(
        `HTTP/1.1 ${error.status} ${http.STATUS_CODES[error.status] ?? "Error"}\r\nconnection: close\r\n` +
          `content-type: text/plain; charset=utf-8\r\n\r\n${error.message}\n`,
      );
    };
    try {
      if (!visit) throw new FernlinkError("not-found", "no HMI is published under this host name");
      const foreign = foreignRequestRefusal(req.method ?? "GET", req.headers, webTargetOrigin(visit.targetId, deps.domain, visit.port), true);
      if (foreign) throw new FernlinkError("forbidden", foreign);
      const { target } = await authorised(req, visit);
      const origins = visit.origins!;
      const headers = hmiRequestHeaders(req.headers, origins);
      headers["connection"] = "Upgrade";
      headers["upgrade"] = req.headers.upgrade ?? "websocket";
      const stream = await target.open();
      // The browser may have given up while the stream was opened: do not leave it open.
      if (socket.destroyed) return void stream.destroy();
      const connection = target.scheme === "https" ? overTls(stream, target) : stream;
      connection.on("error", () => socket.destroy());
      socket.on("close", () => connection.destroy());
      connection.on("close", () => socket.destroy());
      const upstream = http.request({ createConnection: () => connection as Socket, method: req.method ?? "GET", path: req.url ?? "/", headers });
      upstream.on("error", refuse);
      upstream.on("upgrade", (answer: IncomingMessage, raw: Duplex, rest: Buffer) => {
        const out = hmiResponseHeaders(answer.headers, origins);
        out["connection"] = "Upgrade";
        out["upgrade"] = answer.headers.upgrade ?? headers["upgrade"];
        socket.write(responseHead(101, out));
        if (rest.length > 0) socket.write(rest);
        if (head.length > 0) raw.write(head);
        raw.pipe(socket);
        socket.pipe(raw);
      });
      upstream.on("response", (answer: IncomingMessage) => {
        // Not switching: the answer (a login page, a redirect) goes back rewritten, then the connection ends.
        const out = hmiResponseHeaders(answer.headers, origins);
        out["connection"] = "close";
        socket.write(responseHead(answer.statusCode ?? 502, out));
        answer.pipe(socket);
        answer.on("error", () => socket.destroy());
      });
      upstream.end();
    } catch (err) {
      refuse(err);
    }
  }

  return {
    /** True when the request is for an HMI host rather than the portal. */
    owns: (req: Request): boolean => visitOf(req) !== undefined,
    handle: (req: Request, res: Response): void =>
      void handle(req, res).catch((err: unknown) => {
        // Nothing a request does may end the server: answer what can still be answered.
        deps.log.error("HMI request failed", { error: String(err) });
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      }),
    handleUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer): void => void handleUpgrade(req, socket, head),
    /** Closes the kept connections. */
    close(): void {
      clearInterval(sweep);
      for (const agent of agents.values()) agent.destroy();
      agents.clear();
    },
  };
}

/** The HMI proxy of a server. */
export type HmiProxy = ReturnType<typeof createHmiProxy>;
