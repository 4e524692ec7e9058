import http2, { type ClientHttp2Session, type ClientHttp2Stream } from "node:http2";
import { createInterface } from "node:readline";
import type { Duplex } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import type { z } from "zod";
import { errorMessage, FernlinkError } from "../protocol/errors.js";
import type { PublishJob } from "../protocol/published-ports.js";
import type { AgentIdentity, StreamRequest } from "../protocol/relay-access.js";
import {
  AgentCheckResponse,
  type LinkPublishStats,
  PUBLISH_HEADER,
  RELAY_LOAD_INTERVAL_MS,
  RELAY_ROUTES,
  RelayCommand,
  type RelayEvent,
} from "../protocol/relay-link.js";
import { connectHeaders, errorFromResponse, protocolHeaders } from "../protocol/stream-headers.js";
import { decodeJsonAnswer, requestJson } from "../shared/https-json.js";
import type { Logger } from "../shared/log.js";
import { ResetBudget } from "../shared/reset-budget.js";
import { abortStream, openCancellable } from "../shared/stream-cancel.js";
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
  /** The access node sent the published ports of the devices held here (all of them); settles once applied. */
  onPublish?: (jobs: PublishJob[]) => Promise<void>;
  /** The counters of the published ports listened for here, sent with the load. */
  published?: () => { host: string; jobs: LinkPublishStats[] };
}

/** The relay's side of its link to the access nodes. */
export interface AccessLink {
  /** Is this agent certificate current? (one question to an access node per tunnel) */
  checkAgent(peer: { serial: string; deviceId: string | undefined }): Promise<AgentIdentity>;
  /** Resolves once the first link is up. */
  readonly ready: Promise<void>;
  /** Whether a link to an access node is up now. */
  linked(): boolean;
  /**
   * Opens a published port's stream through the linked access node, which authorises, audits
   * and opens it with the job owner's rights and carries it back to this relay's tunnel.
   */
  openPublishStream(request: StreamRequest): Promise<Duplex>;
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
  // Published ports' streams are given up with a trailer, resets paid from this budget.
  let resets = new ResetBudget();
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));

  const send = (event: RelayEvent): void => {
    if (current && !current.stream.destroyed && current.stream.writable) current.stream.write(`${JSON.stringify(event)}\n`);
  };
  const up = (t: AgentTunnel): void => send({ type: "up", deviceId: t.identity.deviceId, address: t.address, since: t.connectedAt.toISOString() });
  const down = (t: AgentTunnel): void => send({ type: "down", deviceId: t.identity.deviceId });
  relay.registry.on("online", up);
  relay.registry.on("offline", down);
  const sendPublished = (): void => {
    const published = options.published?.();
    if (published) send({ type: "published", ...published });
  };
  const sendLoad = (): void => {
    send({ type: "load", ...relay.load() });
    sendPublished();
  };
  const loadTimer = setInterval(sendLoad, RELAY_LOAD_INTERVAL_MS);
  loadTimer.unref();

  const command = (line: string): void => {
    if (line.trim() === "") return;
    const parsed = RelayCommand.safeParse(JSON.parse(line));
    if (!parsed.success) return void log.warn("access link: unknown command ignored");
    const c = parsed.data;
    if (c.type === "disconnect") relay.registry.disconnect(c.deviceId);
    // The counters go up as soon as the listeners changed: `publish list` need not wait for the load.
    else if (c.type === "publish") void options.onPublish?.(c.jobs).then(sendPublished);
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
      resets = new ResetBudget();
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
        sendLoad();
        // readline re-emits its input's errors; the stream's close below ends the link.
        const lines = createInterface({ input: stream });
        lines.on("error", () => {});
        lines.on("line", (line) => {
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
    openPublishStream(request) {
      const session = current?.session;
      const job = request.job;
      if (!linked || !session || session.closed || session.destroyed || !job)
        return Promise.reject(new FernlinkError("server-unreachable", "this relay has no link to an access node right now"));
      const headers = connectHeaders(request.target, {
        [PUBLISH_HEADER.job]: job.id,
        [PUBLISH_HEADER.source]: request.source,
        ...protocolHeaders(request.protocol),
      });
      return new Promise<Duplex>((resolve, reject) => {
        const stream = openCancellable(session, headers, resets);
        const failed = (err: Error): void => reject(new FernlinkError("server-unreachable", `the access node did not open the stream: ${err.message}`));
        stream.once("error", failed);
        stream.once("close", () => failed(new Error("stream closed")));
        stream.once("response", (answer) => {
          if (answer[":status"] === 200) {
            stream.removeListener("error", failed);
            stream.on("error", () => {});
            return resolve(stream);
          }
          reject(errorFromResponse(answer));
          abortStream(stream);
        });
      });
    },
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
