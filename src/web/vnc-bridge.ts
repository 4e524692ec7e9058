import { type IncomingMessage, STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import { FernlinkError } from "../protocol/errors.js";
import { downstreamHandshake, downstreamRefusal, type RfbHandshake, upstreamHandshake } from "../protocol/rfb-handshake.js";
import type { Logger } from "../shared/log.js";

/**
 * The VNC bridge: noVNC in the browser opens a WebSocket on `/api/v1/web-targets/<id>/vnc`;
 * the server opens a tunnel stream to the target's VNC server, logs into it with the stored
 * password (which never reaches the browser), offers the browser security type None and
 * then pipes the bytes both ways.
 */

/** What `authorize` grants for one VNC target. */
export interface VncTargetGrant {
  /** Opens a tunnel stream to the target's VNC server (throws FernlinkError when it cannot). */
  open(): Promise<Duplex>;
  /** The stored VNC password of the target, if it has one. */
  password: string | undefined;
  /** The target's name in messages, e.g. `press-7/panel`. */
  label: string;
}

/** What the bridge needs from the server. */
export interface VncBridgeDeps {
  /** Refuses a page of another origin (throws FernlinkError); such a caller is answered in plain HTTP and learns nothing more. */
  checkOrigin?(req: IncomingMessage): void;
  /** Checks session and access rules for `targetId`; throws FernlinkError to refuse (told to the viewer, which shows the reason). */
  authorize(req: IncomingMessage, targetId: string): Promise<VncTargetGrant>;
  /** Limit for opening the stream plus the upstream handshake, and again for the browser's handshake. */
  handshakeTimeoutMs?: number;
  log?: Logger;
}

/** Answers WebSocket upgrades for VNC targets. */
export interface VncBridge {
  /** The target id when `url` is a VNC bridge path (`/api/v1/web-targets/<id>/vnc`), else undefined. */
  match(url: string | undefined): string | undefined;
  /** Handles an HTTP upgrade (the arguments of the server's `upgrade` event). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Closes every bridged connection, pending or piping. */
  close(): void;
}

const DEFAULT_HANDSHAKE_TIMEOUT_MS = 15_000;
/** Largest WebSocket message taken from a viewer (a clipboard paste fits; `ws` defaults to 100 MiB). */
const MAX_VIEWER_MESSAGE_BYTES = 1024 * 1024;

/** Bytes sent to the browser and not yet written out, above which the VNC stream is paused. */
const HIGH_WATER_BYTES = 1024 * 1024;
/** ... and below which it resumes. */
const LOW_WATER_BYTES = 256 * 1024;

const BRIDGE_PATH = /^\/api\/v1\/web-targets\/([A-Za-z0-9_-]{1,64})\/vnc$/;

/** The target id of a VNC bridge URL (query ignored), or undefined. */
export function vncBridgeTargetId(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  const query = url.indexOf("?");
  return BRIDGE_PATH.exec(query === -1 ? url : url.slice(0, query))?.[1];
}

/** Answers an upgrade request with a plain HTTP error (`{error: {code, message}}`) and closes the socket. */
export function refuseUpgrade(socket: Duplex, err: FernlinkError): void {
  const body = JSON.stringify({ error: { code: err.code, message: err.message } });
  const retry = err.retryAfterSeconds === undefined ? "" : `Retry-After: ${err.retryAfterSeconds}\r\n`;
  const head =
    `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? "Error"}\r\nConnection: close\r\n` +
    `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${retry}\r\n`;
  socket.on("error", () => socket.destroy());
  if (!socket.writable) return void socket.destroy();
  socket.end(head + body, () => socket.destroy());
}

/** `err` as something the user may read: FernlinkErrors as they are, anything else generic. */
function userError(err: unknown, fallback: string): FernlinkError {
  return err instanceof FernlinkError ? err : new FernlinkError("internal", fallback, { cause: err });
}

/** Runs `handshake` over `stream` until it is done; leaves the stream paused with nothing lost. */
function handshakeOverStream<R>(stream: Duplex, handshake: RfbHandshake<R>, label: string, signal: AbortSignal): Promise<{ result: R; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    const settle = (finish: () => void): void => {
      stream.off("data", onData).off("end", onClosed).off("close", onClosed);
      signal.removeEventListener("abort", onAbort);
      finish();
    };
    const onData = (chunk: Buffer): void => {
      try {
        const step = handshake.receive(chunk);
        if (step.send.length > 0) stream.write(step.send);
        if (step.done) {
          stream.pause();
          const done = step.done;
          settle(() => resolve(done));
        }
      } catch (err) {
        settle(() => reject(err));
      }
    };
    const onClosed = (): void =>
      settle(() =>
        reject(new FernlinkError("vnc-handshake-failed", `the VNC server of target ${JSON.stringify(label)} closed the connection during the handshake`)),
      );
    const onAbort = (): void => settle(() => reject(signal.reason));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort);
    stream.on("data", onData).on("end", onClosed).on("close", onClosed);
    const first = handshake.start().send;
    if (first.length > 0) stream.write(first);
  });
}

/** Runs a downstream handshake over WebSocket messages; `onDone` gets the bytes after it. */
function handshakeOverWebSocket<R>(ws: WebSocket, handshake: RfbHandshake<R>, timeoutMs: number, onDone: (rest: Buffer) => void): void {
  // A malformed frame is an "error" on the socket: unheard, it would end the server.
  ws.on("error", () => ws.terminate());
  const timer = setTimeout(() => ws.close(1002, "RFB handshake timed out"), timeoutMs);
  const stop = (): void => {
    clearTimeout(timer);
    ws.off("message", onMessage).off("close", stop);
  };
  const onMessage = (data: Buffer): void => {
    try {
      const step = handshake.receive(data);
      if (step.send.length > 0) ws.send(step.send);
      if (step.done) {
        stop();
        onDone(step.done.rest);
      }
    } catch (err) {
      stop();
      ws.close(1002, userError(err, "RFB handshake failed").code);
    }
  };
  ws.on("message", onMessage).on("close", stop);
  ws.send(handshake.start().send);
}

/** Pipes WebSocket messages and stream bytes both ways with backpressure; each side's end closes the other. */
function pipe(ws: WebSocket, upstream: Duplex): void {
  let queued = 0;
  upstream.on("data", (chunk: Buffer) => {
    queued += chunk.length;
    ws.send(chunk, { binary: true }, () => {
      queued -= chunk.length;
      if (queued <= LOW_WATER_BYTES && upstream.isPaused() && !upstream.destroyed) upstream.resume();
    });
    if (queued > HIGH_WATER_BYTES) upstream.pause();
  });
  ws.on("message", (data: Buffer) => {
    if (!upstream.write(data) && !ws.isPaused) {
      ws.pause();
      upstream.once("drain", () => ws.resume());
    }
  });
  upstream.resume();
}

/** Creates the bridge; the server routes `upgrade` events whose URL it `match`es to `handleUpgrade`. */
export function createVncBridge(deps: VncBridgeDeps): VncBridge {
  const timeoutMs = deps.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    // Viewer-to-server RFB messages are input events and clipboard text: small.
    maxPayload: MAX_VIEWER_MESSAGE_BYTES,
    clientTracking: false,
    handleProtocols: (protocols) => (protocols.has("binary") ? "binary" : false),
  });
  /** Closers of every connection, pending or piping. */
  const live = new Set<() => void>();

  async function bridge(req: IncomingMessage, socket: Duplex, head: Buffer, targetId: string): Promise<void> {
    const gone = new AbortController();
    const closePending = (): void => gone.abort(new FernlinkError("internal", "the VNC bridge is closing"));
    live.add(closePending);
    socket.on("error", () => socket.destroy());
    socket.once("close", () => gone.abort(new FernlinkError("internal", "the browser went away")));

    let grant: VncTargetGrant;
    try {
      deps.checkOrigin?.(req);
    } catch (err) {
      live.delete(closePending);
      return refuseUpgrade(socket, userError(err, "internal error"));
    }
    try {
      grant = await deps.authorize(req, targetId);
    } catch (err) {
      live.delete(closePending);
      const refusal = userError(err, "internal error");
      if (refusal.code === "internal") {
        deps.log?.error("VNC bridge authorization failed", { target: targetId, error: String(err) });
        return refuseUpgrade(socket, refusal);
      }
      // noVNC shows no HTTP status, only an RFB security failure's reason: say it there.
      if (gone.signal.aborted) return void socket.destroy();
      return wss.handleUpgrade(req, socket, head, (ws) => refuseViewer(ws, refusal));
    }

    let upstream: Duplex | undefined;
    let upstreamRest: Buffer = Buffer.alloc(0);
    let failure: FernlinkError | undefined;
    const signal = AbortSignal.any([gone.signal, AbortSignal.timeout(timeoutMs)]);
    try {
      const opening = grant.open();
      // A stream that arrives after the wait was given up is closed at once.
      opening.then(
        (stream) => (signal.aborted ? stream.destroy() : undefined),
        () => {},
      );
      upstream = await Promise.race([opening, aborted(signal)]);
      upstream.on("error", (err) => deps.log?.debug("VNC tunnel stream failed", { target: grant.label, error: String(err) }));
      upstreamRest = (await handshakeOverStream(upstream, upstreamHandshake({ password: grant.password, label: grant.label }), grant.label, signal)).rest;
    } catch (err) {
      upstream?.destroy();
      upstream = undefined;
      failure =
        err instanceof DOMException && err.name === "TimeoutError"
          ? new FernlinkError("target-timeout", `the VNC server of target ${JSON.stringify(grant.label)} did not answer within ${timeoutMs} ms`)
          : userError(err, `could not reach the VNC server of target ${JSON.stringify(grant.label)}`);
    }
    live.delete(closePending);
    if (gone.signal.aborted) {
      upstream?.destroy();
      socket.destroy();
      return;
    }
    if (failure) deps.log?.info("VNC bridge refused", { target: grant.label, code: failure.code, reason: failure.message });

    wss.handleUpgrade(req, socket, head, (ws) => {
      if (!upstream || failure) return refuseViewer(ws, failure ?? new FernlinkError("internal", "no VNC stream"));
      serveViewer(ws, upstream, upstreamRest);
    });
  }

  /** Tells noVNC why it cannot connect (a `securityfailure` event with the reason), then closes. */
  function refuseViewer(ws: WebSocket, failure: FernlinkError): void {
    handshakeOverWebSocket(ws, downstreamRefusal(failure.message), timeoutMs, () => ws.close(1011, failure.code));
  }

  function serveViewer(ws: WebSocket, upstream: Duplex, upstreamRest: Buffer): void {
    const close = (): void => {
      ws.close(1001, "server shutting down");
      upstream.destroy();
    };
    live.add(close);
    ws.on("error", () => ws.terminate());
    ws.on("close", () => {
      live.delete(close);
      upstream.destroy();
    });
    upstream.once("end", () => ws.close(1000, "the VNC server closed the connection"));
    upstream.once("close", () => {
      if (ws.readyState === ws.OPEN) ws.close(1011, "the tunnel stream closed");
    });
    handshakeOverWebSocket(ws, downstreamHandshake(), timeoutMs, (rest) => {
      if (rest.length > 0) upstream.write(rest);
      if (upstreamRest.length > 0) ws.send(upstreamRest);
      pipe(ws, upstream);
    });
  }

  return {
    match: vncBridgeTargetId,
    handleUpgrade(req, socket, head) {
      const targetId = vncBridgeTargetId(req.url);
      if (targetId === undefined) {
        return refuseUpgrade(socket, new FernlinkError("not-found", `no VNC bridge at ${JSON.stringify(req.url)}`));
      }
      if (req.method !== "GET" || req.headers.upgrade?.toLowerCase() !== "websocket") {
        return refuseUpgrade(socket, new FernlinkError("invalid-input", "the VNC bridge answers only WebSocket upgrades"));
      }
      bridge(req, socket, head, targetId).catch((err: unknown) => {
        deps.log?.error("VNC bridge failed", { target: targetId, error: String(err) });
        socket.destroy();
      });
    },
    close() {
      for (const close of [...live]) close();
      live.clear();
    },
  };
}

/** A promise that rejects with the signal's reason when it aborts. */
function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}
