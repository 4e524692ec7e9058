import { FernlinkError } from "./errors.js";
import { VNC_CHALLENGE_BYTES, vncAuthResponse } from "./vnc-auth.js";

/**
 * The RFB (VNC) handshake up to ClientInit (RFC 6143 §7.1–7.2), as pure state machines: bytes
 * in, bytes out, no sockets. The web bridge runs two of them: towards the real VNC server
 * as a client holding the stored password (`upstreamHandshake`), and towards the browser as
 * a server offering only security type None (`downstreamHandshake`).
 */

/** RFB protocol versions spoken here; others are mapped onto these. */
export type RfbVersion = "3.3" | "3.7" | "3.8";

/** RFB security type None (RFC 6143 §7.2.1). */
export const SECURITY_NONE = 1;
/** RFB security type VNC Authentication (RFC 6143 §7.2.2). */
export const SECURITY_VNC_AUTH = 2;

/** ClientInit asking the server to share the desktop with other viewers. */
export const CLIENT_INIT_SHARED: Buffer = Buffer.from([1]);

/** Longest reason string accepted from a peer; longer ones are a protocol error. */
const MAX_REASON_BYTES = 64 * 1024;

/** What a handshake script asks of its driver: bytes to read, or bytes to send. */
type Io = { read: number } | { write: Buffer };

/** A handshake written as a sequential script; `yield {read}` resumes with exactly that many bytes. */
type Script<R> = Generator<Io, R, Buffer>;

/** What one step of a handshake produced. */
export interface HandshakeStep<R> {
  /** Bytes to send to the peer now, in order (may be empty). */
  send: Buffer;
  /** Set once the handshake is over: its result and the bytes received after its last message. */
  done?: { result: R; rest: Buffer };
}

/**
 * Drives a handshake script: buffers partial input, so bytes may arrive split anywhere. The
 * script reads only what it asked for, and every length it reads is capped, so the buffer
 * stays small.
 */
export class RfbHandshake<R> {
  #script: Script<R>;
  #input = Buffer.alloc(0);
  #need = 0;
  #started = false;
  #finished = false;

  constructor(script: Script<R>) {
    this.#script = script;
  }

  /** Runs the script up to its first read; the bytes to send first (the server's version line). */
  start(): HandshakeStep<R> {
    if (this.#started) throw new Error("RFB handshake already started");
    this.#started = true;
    return this.#run(() => this.#script.next(Buffer.alloc(0)));
  }

  /** Feeds received bytes. Throws FernlinkError on malformed input or a refusal by the peer. */
  receive(chunk: Uint8Array): HandshakeStep<R> {
    if (!this.#started) throw new Error("RFB handshake fed before start()");
    if (this.#finished) throw new Error("RFB handshake fed after it finished");
    this.#input = this.#input.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#input, chunk]);
    if (this.#input.length < this.#need) return { send: Buffer.alloc(0) };
    const bytes = this.#input.subarray(0, this.#need);
    this.#input = this.#input.subarray(this.#need);
    return this.#run(() => this.#script.next(bytes));
  }

  /** Runs the script from `resume` until it needs more input or ends; a throw ends the handshake. */
  #run(resume: () => IteratorResult<Io, R>): HandshakeStep<R> {
    try {
      return this.#advance(resume());
    } catch (err) {
      this.#finished = true;
      throw err;
    }
  }

  #advance(first: IteratorResult<Io, R>): HandshakeStep<R> {
    const send: Buffer[] = [];
    let step = first;
    for (;;) {
      if (step.done) {
        this.#finished = true;
        return { send: Buffer.concat(send), done: { result: step.value, rest: this.#input } };
      }
      const io = step.value;
      if ("write" in io) {
        send.push(io.write);
        step = this.#script.next(Buffer.alloc(0));
      } else if (this.#input.length >= io.read) {
        const bytes = this.#input.subarray(0, io.read);
        this.#input = this.#input.subarray(io.read);
        step = this.#script.next(bytes);
      } else {
        this.#need = io.read;
        return { send: Buffer.concat(send) };
      }
    }
  }
}

/** The 12-byte ProtocolVersion message for `version`. */
export function versionLine(version: RfbVersion): Buffer {
  return Buffer.from(`RFB 003.00${version.slice(2)}\n`, "latin1");
}

/** Major and minor of a ProtocolVersion message, or undefined when it is not one. */
function parseVersionLine(bytes: Buffer): { major: number; minor: number } | undefined {
  const m = /^RFB (\d{3})\.(\d{3})\n$/.exec(bytes.toString("latin1"));
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
}

/** A peer's bytes for a message, printable and short, for error messages. */
function quoteBytes(bytes: Buffer): string {
  return JSON.stringify(bytes.toString("latin1").slice(0, 40));
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value);
  return b;
}

/** A reason string from a peer, made safe to show: printable, at most 200 characters. */
function cleanReason(bytes: Buffer): string {
  const text = bytes
    .toString("utf8")
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters from the peer are what this removes
    .replace(/[\u0000-\u001f\u007f]+/g, " ")
    .trim();
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** Reads a u32-length-prefixed reason string. */
function* readReason(what: string): Script<string> {
  const length = (yield { read: 4 }).readUInt32BE();
  if (length > MAX_REASON_BYTES) {
    throw new FernlinkError("vnc-handshake-failed", `${what} sent a reason string of ${length} bytes (at most ${MAX_REASON_BYTES})`);
  }
  return length === 0 ? "" : cleanReason(yield { read: length });
}

/** How the upstream handshake authenticates and names its target. */
export interface UpstreamOptions {
  /** The stored VNC password of the target, if it has one. */
  password: string | undefined;
  /** The target's name in error messages (quoted there), e.g. `press-7/panel`. */
  label: string;
}

/** The outcome of a successful upstream handshake; the next message is our ClientInit. */
export interface UpstreamResult {
  version: RfbVersion;
  securityType: typeof SECURITY_NONE | typeof SECURITY_VNC_AUTH;
}

/** Handshake as an RFB client towards a real VNC server, answering VNC Authentication itself. */
export function upstreamHandshake(options: UpstreamOptions): RfbHandshake<UpstreamResult> {
  return new RfbHandshake(upstreamScript(options));
}

function* upstreamScript({ password, label }: UpstreamOptions): Script<UpstreamResult> {
  const target = `target ${JSON.stringify(label)}`;
  const fail = (message: string): FernlinkError => new FernlinkError("vnc-handshake-failed", `the VNC server of ${target} ${message}`);

  const line = yield { read: 12 };
  const offered = parseVersionLine(line);
  if (!offered) throw fail(`sent no RFB protocol version (got ${quoteBytes(line)})`);
  let version: RfbVersion;
  if (offered.major > 3 || (offered.major === 3 && offered.minor >= 8)) version = "3.8";
  else if (offered.major === 3 && offered.minor === 7) version = "3.7";
  else if (offered.major === 3 && offered.minor >= 3) version = "3.3";
  else throw fail(`speaks RFB ${offered.major}.${offered.minor}, older than 3.3`);
  yield { write: versionLine(version) };

  const choose = (types: number[]): UpstreamResult["securityType"] => {
    if (password !== undefined && types.includes(SECURITY_VNC_AUTH)) return SECURITY_VNC_AUTH;
    if (types.includes(SECURITY_NONE)) return SECURITY_NONE;
    if (types.includes(SECURITY_VNC_AUTH)) {
      throw new FernlinkError("vnc-auth-failed", `the VNC server of ${target} asks for a password, but none is stored for the target`);
    }
    throw fail(`offers no supported security type (offered: ${types.join(", ")})`);
  };

  let type: UpstreamResult["securityType"];
  if (version === "3.3") {
    const decided = (yield { read: 4 }).readUInt32BE();
    if (decided === 0) throw fail(`refused the connection: ${JSON.stringify(yield* readReason("the VNC server"))}`);
    type = choose([decided]);
  } else {
    const count = (yield { read: 1 })[0]!;
    if (count === 0) throw fail(`refused the connection: ${JSON.stringify(yield* readReason("the VNC server"))}`);
    type = choose([...(yield { read: count })]);
    yield { write: Buffer.from([type]) };
  }

  if (type === SECURITY_VNC_AUTH) {
    const challenge = yield { read: VNC_CHALLENGE_BYTES };
    yield { write: vncAuthResponse(password ?? "", challenge) };
  }
  if (type === SECURITY_VNC_AUTH || version === "3.8") {
    const status = (yield { read: 4 }).readUInt32BE();
    if (status !== 0) {
      const reason = version === "3.8" ? yield* readReason("the VNC server") : "";
      const said = reason ? ` (it said: ${JSON.stringify(reason)})` : "";
      if (type === SECURITY_VNC_AUTH) {
        throw new FernlinkError("vnc-auth-failed", `the VNC server refused the stored password of ${target}${said}`);
      }
      throw fail(`refused the connection${said}`);
    }
  }
  return { version, securityType: type };
}

/** The outcome of a downstream handshake: the version the browser chose. */
export interface DownstreamResult {
  version: RfbVersion;
}

/** The version a client answered with (RFC 6143 §7.1.1: unknown 3.x minors are read as 3.3). */
function* readClientVersion(): Script<RfbVersion> {
  const line = yield { read: 12 };
  const v = parseVersionLine(line);
  if (v?.major !== 3 || v.minor > 8 || v.minor < 3) {
    throw new FernlinkError("invalid-input", `the VNC viewer sent no supported RFB protocol version (got ${quoteBytes(line)})`);
  }
  return v.minor === 8 ? "3.8" : v.minor === 7 ? "3.7" : "3.3";
}

/** Handshake as an RFB server towards the browser, offering only security type None. */
export function downstreamHandshake(): RfbHandshake<DownstreamResult> {
  return new RfbHandshake(downstreamScript());
}

function* downstreamScript(): Script<DownstreamResult> {
  yield { write: versionLine("3.8") };
  const version = yield* readClientVersion();
  if (version === "3.3") {
    yield { write: u32(SECURITY_NONE) };
    return { version };
  }
  yield { write: Buffer.from([1, SECURITY_NONE]) };
  const choice = (yield { read: 1 })[0]!;
  if (choice !== SECURITY_NONE) {
    throw new FernlinkError("invalid-input", `the VNC viewer chose security type ${choice}, but only None (1) was offered`);
  }
  // RFB 3.7 sends no SecurityResult for None; 3.8 does.
  if (version === "3.8") yield { write: u32(0) };
  return { version };
}

/**
 * Handshake as an RFB server that refuses the browser with `reason` (an empty security type
 * list and a reason string, which noVNC reports as a `securityfailure` event with that reason).
 */
export function downstreamRefusal(reason: string): RfbHandshake<DownstreamResult> {
  return new RfbHandshake(refusalScript(reason));
}

function* refusalScript(reason: string): Script<DownstreamResult> {
  yield { write: versionLine("3.8") };
  const version = yield* readClientVersion();
  const text = Buffer.from(reason, "utf8");
  yield { write: Buffer.concat([version === "3.3" ? u32(0) : Buffer.from([0]), u32(text.length), text]) };
  return { version };
}

/** The ServerInit message (RFC 6143 §7.3.2): framebuffer size, pixel format, desktop name. */
export interface ServerInit {
  width: number;
  height: number;
  pixelFormat: {
    bitsPerPixel: number;
    depth: number;
    bigEndian: boolean;
    trueColour: boolean;
    redMax: number;
    greenMax: number;
    blueMax: number;
    redShift: number;
    greenShift: number;
    blueShift: number;
  };
  name: string;
  /** Bytes the message took. */
  length: number;
}

/** Decodes a ServerInit at the start of `bytes`; undefined while it is incomplete. */
export function decodeServerInit(bytes: Buffer): ServerInit | undefined {
  if (bytes.length < 24) return undefined;
  const nameLength = bytes.readUInt32BE(20);
  if (nameLength > MAX_REASON_BYTES) {
    throw new FernlinkError("vnc-handshake-failed", `ServerInit names the desktop with ${nameLength} bytes (at most ${MAX_REASON_BYTES})`);
  }
  if (bytes.length < 24 + nameLength) return undefined;
  return {
    width: bytes.readUInt16BE(0),
    height: bytes.readUInt16BE(2),
    pixelFormat: {
      bitsPerPixel: bytes[4]!,
      depth: bytes[5]!,
      bigEndian: bytes[6] !== 0,
      trueColour: bytes[7] !== 0,
      redMax: bytes.readUInt16BE(8),
      greenMax: bytes.readUInt16BE(10),
      blueMax: bytes.readUInt16BE(12),
      redShift: bytes[14]!,
      greenShift: bytes[15]!,
      blueShift: bytes[16]!,
    },
    name: bytes.subarray(24, 24 + nameLength).toString("utf8"),
    length: 24 + nameLength,
  };
}
