import { type AddressInfo, createServer, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { HostPort } from "../protocol/target.js";
import { UDP_IDLE_MS } from "../shared/datagram-mappings.js";
import { joinStreams } from "../shared/join-streams.js";
import { STREAM_BUFFER_BYTES } from "../shared/stream-buffer.js";
import { abortStream } from "../shared/stream-cancel.js";
import { ConnectionSet } from "./connection-set.js";
import { type Listener, listenError, listenerControls } from "./forwarder.js";
import {
  encodeMethodSelection,
  encodeReply,
  METHOD,
  negotiateMethod,
  REP,
  replyCodeFor,
  type Socks5Command,
  Socks5CommandError,
  Socks5MalformedError,
  Socks5Parser,
  Socks5VersionError,
} from "./socks5-codec.js";
import { serveUdpAssociate } from "./socks5-udp.js";

/** How to run a SOCKS5 proxy and how it reaches targets. */
export interface Socks5ServerOptions {
  host: string;
  port: number;
  /** Opens a stream to the target; `signal` aborts if the setup is abandoned, never after it resolves. */
  open: (target: HostPort, signal: AbortSignal) => Promise<Duplex>;
  /** Reports setup failures that the client was answered with (target unknown before the request). */
  onError?: (err: unknown, target: HostPort | undefined) => void;
  /** Deadline for greeting, request and `open` together; 10 s by default. */
  handshakeTimeoutMs?: number;
  /** Opens a UDP stream to a target; without it UDP ASSOCIATE is answered "command not supported". */
  openUdp?: (target: HostPort) => Promise<Duplex>;
  /** How long a UDP association's flow to one target lives without a datagram. */
  udpIdleMs?: number;
}

/** A listening SOCKS5 proxy. */
export type Socks5Server = Listener;

const HANDSHAKE_TIMEOUT_MS = 10_000;
const LINGER_MS = 2_000;

/** Starts a no-auth SOCKS5 proxy: CONNECT forwards each connection to `open(target)`, UDP ASSOCIATE relays datagrams through `openUdp`. */
export async function startSocks5Server(options: Socks5ServerOptions): Promise<Socks5Server> {
  const connections = new ConnectionSet();
  // Half-open sockets let a client shut its write side and still receive the target's answer; no
  // Nagle, as on --forward ports: an answer in two pieces would wait for the application's ACK.
  const server = createServer({ noDelay: true, allowHalfOpen: true, highWaterMark: STREAM_BUFFER_BYTES }, (socket) => {
    connections.add(socket);
    handleConnection(socket, options);
  });
  const listen = { host: options.host, port: options.port };
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => reject(listenError(err, listen, "--socks"));
    server.once("error", onError);
    server.listen(options.port, options.host, () => {
      server.off("error", onError);
      resolve();
    });
  });
  server.on("error", (err) => options.onError?.(err, undefined));
  const info = server.address() as AddressInfo;
  return { address: { host: info.address, port: info.port }, connections, ...listenerControls(server, connections) };
}

function handleConnection(socket: Socket, options: Socks5ServerOptions): void {
  // Resets from clients are routine; every teardown path is driven by "close" instead.
  socket.on("error", () => {});
  const setup = new AbortController();
  const deadline = AbortSignal.timeout(options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS);
  const onDeadline = () => setup.abort(deadline.reason);
  const onClose = () => setup.abort(new Error("SOCKS client closed the connection"));
  deadline.addEventListener("abort", onDeadline, { once: true });
  socket.once("close", onClose);
  void establish(socket, options, setup.signal)
    .finally(() => {
      deadline.removeEventListener("abort", onDeadline);
      socket.off("close", onClose);
    })
    // Only a throwing onError lands here; it must not take the whole proxy down.
    .catch(() => socket.destroy());
}

async function establish(socket: Socket, options: Socks5ServerOptions, signal: AbortSignal): Promise<void> {
  const state: { greeted: boolean; target?: HostPort } = { greeted: false };
  try {
    const { command, target, rest } = await readHandshake(socket, signal, () => (state.greeted = true));
    state.target = target;
    if (command === "udp-associate") {
      if (!options.openUdp) throw new Socks5CommandError("UDP ASSOCIATE is not supported here");
      return await serveUdpAssociate(socket, target, { openUdp: options.openUdp, idleMs: options.udpIdleMs ?? UDP_IDLE_MS, onError: options.onError });
    }
    const upstream = await settleOrAbort(options.open(target, signal), signal);
    if (socket.destroyed) return abortStream(upstream);
    socket.write(encodeReply(REP.succeeded));
    if (rest.length > 0) upstream.write(rest);
    joinStreams(socket, upstream, () => socket.destroy());
  } catch (err) {
    if (socket.destroyed) return;
    refuse(socket, err, state.greeted);
    options.onError?.(err, state.target);
  }
}

interface Handshake {
  command: Socks5Command;
  target: HostPort;
  rest: Buffer;
}

function readHandshake(socket: Socket, signal: AbortSignal, onGreeted: () => void): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const parser = new Socks5Parser();
    const finish = (err: unknown, result?: Handshake) => {
      socket.off("data", onData);
      socket.off("end", onEnd);
      signal.removeEventListener("abort", onAbort);
      // Leave unread input buffered in the socket for the pipe to the target.
      socket.pause();
      if (result) resolve(result);
      else reject(err);
    };
    const onAbort = () => finish(signal.reason);
    const onEnd = () => finish(new Socks5MalformedError("client ended the connection during the SOCKS handshake"));
    const onData = (chunk: Buffer) => {
      try {
        const { messages, rest } = parser.push(chunk);
        for (const message of messages) {
          if (message.type === "request") return finish(undefined, { command: message.command, target: message.target, rest });
          socket.write(encodeMethodSelection(negotiateMethod(message.methods)));
          onGreeted();
        }
      } catch (err) {
        finish(err);
      }
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    socket.on("data", onData);
    socket.once("end", onEnd);
  });
}

function settleOrAbort(opening: Promise<Duplex>, signal: AbortSignal): Promise<Duplex> {
  // open() may ignore the signal; a stream it delivers after we gave up must still be closed.
  opening.then(
    (stream) => signal.aborted && abortStream(stream),
    () => {},
  );
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    opening.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function refuse(socket: Socket, err: unknown, greeted: boolean): void {
  // A wrong version is likely not a SOCKS5 client at all, so any answer would be noise to it.
  if (!greeted && err instanceof Socks5VersionError) return void socket.destroy();
  const answer = greeted ? encodeReply(replyCodeFor(err)) : encodeMethodSelection(METHOD.noAcceptable);
  // Drain and linger so unread input does not turn our close into a RST that swallows the answer.
  socket.resume();
  socket.end(answer);
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  socket.once("close", () => clearTimeout(timer));
}
