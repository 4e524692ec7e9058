import http2, { type ClientHttp2Session, type ClientHttp2Stream } from "node:http2";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import type { z } from "zod";
import { errorMessage, FernlinkError } from "../protocol/errors.js";
import type { AgentIdentity } from "../protocol/relay-access.js";
import { AgentCheckResponse, RELAY_LOAD_INTERVAL_MS, RELAY_ROUTES, RelayCommand, type RelayEvent } from "../protocol/relay-link.js";
import { errorFromResponse } from "../protocol/stream-headers.js";
import { decodeJsonAnswer, requestJson } from "../shared/https-json.js";
import type { Logger } from "../shared/log.js";
import type { AgentTunnel } from "./agent-tunnel.js";
import type { Relay } from "./relay.js";

/** Options of `linkToAccess`. */
export interface AccessLinkOptions {
  /** Access node URLs, tried in turn. */
  access: readonly string[];
  keyPem: string;
  certPem: string;
  caPem: string;
  url: string;
  region: string | undefined;
  relay: Relay;
  log: Logger;
  /** An access node said this relay's certificate is no longer accepted. */
  onRefused: (err: FernlinkError) => void;
  onDrain: (deadlineMs: number) => void;
}

/** The relay's side of its link to the access nodes. */
export interface AccessLink {
  /** Is this agent certificate current? (one question to an access node per tunnel) */
  checkAgent(peer: { serial: string; deviceId: string | undefined }): Promise<AgentIdentity>;
  /** Resolves once the first link is up. */
  readonly ready: Promise<void>;
  /** Whether a link to an access node is up now. */
  linked(): boolean;
  close(): void;
}

/**
 * Keeps one link to an access node up (the next URL after a loss, backoff 0.25 … 5 s): a POST
 * whose body carries this relay's events (hello, every tunnel up and down, its load every
 * RELAY_LOAD_INTERVAL_MS) and whose answer carries commands (disconnect a device, drain).
 * After each reconnection the relay's present tunnels are told again.
 */
export function linkToAccess(options: AccessLinkOptions): AccessLink {
  const { relay, log } = options;
  let closed = false;
  let current: { session: ClientHttp2Session; stream: ClientHttp2Stream } | undefined;
  let which = 0;
  let linked = false;
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));

  const send = (event: RelayEvent): void => {
    if (current && !current.stream.destroyed && current.stream.writable) current.stream.write(`${JSON.stringify(event)}\n`);
  };
  const up = (t: AgentTunnel): void => send({ type: "up", deviceId: t.identity.deviceId, address: t.address, since: t.connectedAt.toISOString() });
  const down = (t: AgentTunnel): void => send({ type: "down", deviceId: t.identity.deviceId });
  relay.registry.on("online", up);
  relay.registry.on("offline", down);
  const loadTimer = setInterval(() => send({ type: "load", ...relay.load() }), RELAY_LOAD_INTERVAL_MS);
  loadTimer.unref();

  const command = (line: string): void => {
    if (line.trim() === "") return;
    const parsed = RelayCommand.safeParse(JSON.parse(line));
    if (!parsed.success) return void log.warn("access link: unknown command ignored");
    const c = parsed.data;
    if (c.type === "disconnect") relay.registry.disconnect(c.deviceId);
    else options.onDrain(c.deadlineMs);
  };

  /** One link's life: resolves when it ended. */
  const linkOnce = (access: string): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const session = http2.connect(access, { key: options.keyPem, cert: options.certPem, ca: options.caPem });
      session.on("error", (err) => log.debug("access link error", { access, error: err.message }));
      const stream = session.request({ ":method": "POST", ":path": RELAY_ROUTES.link, "content-type": "application/x-ndjson" }, { endStream: false });
      stream.on("error", () => {});
      current = { session, stream };
      stream.once("response", (headers) => {
        if (headers[":status"] !== 200) {
          const err = errorFromResponse(headers);
          session.destroy();
          return reject(err);
        }
        log.info("linked to access node", { access });
        linked = true;
        markReady();
        send({ type: "hello", url: options.url, ...(options.region ? { region: options.region } : {}), draining: relay.draining });
        for (const t of relay.registry.list()) up(t);
        send({ type: "load", ...relay.load() });
        createInterface({ input: stream }).on("line", (line) => {
          try {
            command(line);
          } catch {
            log.warn("access link: malformed command ignored");
          }
        });
      });
      stream.once("close", () => {
        linked = false;
        session.destroy();
        resolve();
      });
    });

  void (async () => {
    let attempt = 0;
    while (!closed) {
      const access = options.access[which % options.access.length]!;
      const startedAt = Date.now();
      try {
        await linkOnce(access);
        if (!closed) log.warn("access link lost", { access });
      } catch (err) {
        if (err instanceof FernlinkError && err.code === "certificate-revoked") return options.onRefused(err);
        log.warn("cannot link to access node", { access, reason: errorMessage(err) });
      }
      current = undefined;
      which++;
      attempt = Date.now() - startedAt > 10_000 ? 0 : attempt + 1;
      if (!closed) await sleep(Math.min(5000, 250 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random() / 2));
    }
  })();

  return {
    ready,
    linked: () => linked,
    async checkAgent(peer) {
      const body = { serial: peer.serial, ...(peer.deviceId !== undefined ? { deviceId: peer.deviceId } : {}) };
      // On the link's own connection when it is up: no TLS handshake per agent in a storm.
      const session = current?.session;
      const access = options.access[which % options.access.length]!;
      if (session && !session.closed && !session.destroyed) return postOnSession(session, access, RELAY_ROUTES.agent, body, AgentCheckResponse);
      return requestJson({
        server: access,
        path: RELAY_ROUTES.agent,
        body,
        ca: options.caPem,
        cert: options.certPem,
        key: options.keyPem,
        response: AgentCheckResponse,
      });
    },
    close() {
      closed = true;
      clearInterval(loadTimer);
      relay.registry.off("online", up);
      relay.registry.off("offline", down);
      current?.session.destroy();
    },
  };
}

/** One JSON POST on an open HTTP/2 session to the access node, answered like `requestJson`. */
function postOnSession<T extends z.ZodType>(session: ClientHttp2Session, server: string, path: string, body: unknown, schema: T): Promise<z.infer<T>> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/json" });
    stream.setTimeout(15_000, () => stream.close(http2.constants.NGHTTP2_CANCEL));
    let status = 0;
    let retryAfter: string | string[] | undefined;
    const chunks: Buffer[] = [];
    stream.on("response", (headers) => {
      status = Number(headers[":status"]);
      retryAfter = headers["retry-after"];
    });
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("error", (err) => reject(new FernlinkError("server-unreachable", `${server} did not answer: ${err.message}`)));
    stream.on("close", () => {
      if (status === 0) return reject(new FernlinkError("server-unreachable", `${server} did not answer ${path}`));
      try {
        resolve(decodeJsonAnswer({ status, retryAfter, body: Buffer.concat(chunks), schema, server, path }));
      } catch (err) {
        reject(err);
      }
    });
    stream.end(JSON.stringify(body));
  });
}
