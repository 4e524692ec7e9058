import { isIP } from "node:net";
import { type ErrorCode, FernlinkError } from "../protocol/errors.js";
import { type HostPort, parseHost } from "../protocol/target.js";

/** The SOCKS protocol version this codec speaks (RFC 1928). */
export const SOCKS_VERSION = 0x05;

/** Authentication method identifiers used in the method selection message. */
export const METHOD = { noAuth: 0x00, noAcceptable: 0xff } as const;

/** Request commands; `connect` and `udpAssociate` are supported. */
export const CMD = { connect: 0x01, bind: 0x02, udpAssociate: 0x03 } as const;

/** Address types of DST.ADDR / BND.ADDR. */
export const ATYP = { ipv4: 0x01, domain: 0x03, ipv6: 0x04 } as const;

/** Reply codes (REP field). */
export const REP = {
  succeeded: 0x00,
  generalFailure: 0x01,
  notAllowed: 0x02,
  networkUnreachable: 0x03,
  hostUnreachable: 0x04,
  connectionRefused: 0x05,
  ttlExpired: 0x06,
  commandNotSupported: 0x07,
  addressTypeNotSupported: 0x08,
} as const;

/** One of the REP values above. */
export type ReplyCode = (typeof REP)[keyof typeof REP];

/** A complete client message: the greeting, then the request. */
export type Socks5Message = { type: "greeting"; methods: number[] } | { type: "request"; command: Socks5Command; target: HostPort };

/** What a request asks for: a TCP connection, or a UDP relay (RFC 1928 §7) whose target is where the client will send from. */
export type Socks5Command = "connect" | "udp-associate";

/** What one `push` produced: finished messages and the bytes that follow the request. */
export interface ParseResult {
  messages: Socks5Message[];
  rest: Buffer;
}

/** A protocol violation by the client, with the REP code to answer it with. */
export abstract class Socks5Error extends Error {
  abstract readonly code: string;
  abstract readonly rep: ReplyCode;
}

/** VER is not 5 (often a SOCKS4 or HTTP client pointed at the wrong port). */
export class Socks5VersionError extends Socks5Error {
  override readonly name = "Socks5VersionError";
  readonly code = "socks-bad-version";
  readonly rep = REP.generalFailure;
}

/** CMD is neither CONNECT nor UDP ASSOCIATE (BIND or unknown). */
export class Socks5CommandError extends Socks5Error {
  override readonly name = "Socks5CommandError";
  readonly code = "socks-bad-command";
  readonly rep = REP.commandNotSupported;
}

/** ATYP is not IPv4, DOMAINNAME or IPv6. */
export class Socks5AddressTypeError extends Socks5Error {
  override readonly name = "Socks5AddressTypeError";
  readonly code = "socks-bad-address-type";
  readonly rep = REP.addressTypeNotSupported;
}

/** A field has an impossible value (no methods, non-zero RSV, empty or invalid name, port 0). */
export class Socks5MalformedError extends Socks5Error {
  override readonly name = "Socks5MalformedError";
  readonly code = "socks-malformed";
  readonly rep = REP.generalFailure;
}

/** The client offered no method we accept (only no-auth is). */
export class Socks5MethodError extends Socks5Error {
  override readonly name = "Socks5MethodError";
  readonly code = "socks-no-acceptable-method";
  readonly rep = REP.generalFailure;
}

const EMPTY = Buffer.alloc(0);

type Parsed = { message: Socks5Message; length: number };

/** Incremental parser for the greeting and the request; chunks may be split or coalesced anywhere. */
export class Socks5Parser {
  #buffer: Buffer = EMPTY;
  #stage: "greeting" | "request" | "done" = "greeting";

  /** Feeds bytes; throws a Socks5Error as soon as a violation is visible. */
  push(chunk: Buffer): ParseResult {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const messages: Socks5Message[] = [];
    while (this.#stage !== "done") {
      const parsed = this.#stage === "greeting" ? parseGreeting(this.#buffer) : parseRequest(this.#buffer);
      if (!parsed) return { messages, rest: EMPTY };
      messages.push(parsed.message);
      this.#buffer = this.#buffer.subarray(parsed.length);
      this.#stage = this.#stage === "greeting" ? "request" : "done";
    }
    const rest = this.#buffer;
    this.#buffer = EMPTY;
    return { messages, rest };
  }
}

function parseGreeting(buf: Buffer): Parsed | undefined {
  checkVersion(buf);
  const count = buf[1];
  if (count === undefined) return undefined;
  if (count === 0) throw new Socks5MalformedError("greeting offers no authentication methods");
  if (buf.length < 2 + count) return undefined;
  return { message: { type: "greeting", methods: [...buf.subarray(2, 2 + count)] }, length: 2 + count };
}

function checkVersion(buf: Buffer): void {
  if (buf.length > 0 && buf[0] !== SOCKS_VERSION) throw new Socks5VersionError(`unsupported SOCKS version ${buf[0]}`);
}

function parseRequest(buf: Buffer): Parsed | undefined {
  checkVersion(buf);
  const [, cmd, rsv] = buf;
  if (cmd !== undefined && cmd !== CMD.connect && cmd !== CMD.udpAssociate) {
    throw new Socks5CommandError(`SOCKS command ${cmd} is not supported; only CONNECT and UDP ASSOCIATE are`);
  }
  if (rsv !== undefined && rsv !== 0) throw new Socks5MalformedError("reserved byte of the request is not zero");
  const address = readAddress(buf, 3);
  if (!address) return undefined;
  const command: Socks5Command = cmd === CMD.udpAssociate ? "udp-associate" : "connect";
  // A UDP ASSOCIATE may leave the client's address and port as zeros: not known yet (RFC 1928 §7).
  if (address.target.port === 0 && command === "connect") throw new Socks5MalformedError("request has destination port 0");
  return { message: { type: "request", command, target: address.target }, length: address.end };
}

/** ATYP, address and port at `offset`; undefined while incomplete. Port 0 is left to the caller. */
function readAddress(buf: Buffer, offset: number): { target: HostPort; end: number } | undefined {
  const atyp = buf[offset];
  const nameLength = buf[offset + 1];
  if (atyp === undefined) return undefined;
  let addrLength: number;
  if (atyp === ATYP.ipv4) addrLength = 4;
  else if (atyp === ATYP.ipv6) addrLength = 16;
  else if (atyp !== ATYP.domain) throw new Socks5AddressTypeError(`SOCKS address type ${atyp} is not supported`);
  else if (nameLength === undefined) return undefined;
  else if (nameLength === 0) throw new Socks5MalformedError("request has an empty domain name");
  else addrLength = 1 + nameLength;
  const start = offset + 1;
  const end = start + addrLength + 2;
  if (buf.length < end) return undefined;
  const addr = buf.subarray(start, start + addrLength);
  const host = atyp === ATYP.ipv4 ? [...addr].join(".") : atyp === ATYP.ipv6 ? formatIPv6(addr) : decodeName(addr.subarray(1));
  return { target: { host, port: buf.readUInt16BE(start + addrLength) }, end };
}

function decodeName(bytes: Buffer): string {
  // Names go to the device unresolved, so reject anything that is not a plain host name here.
  const text = bytes.toString("latin1");
  try {
    return parseHost(text);
  } catch (err) {
    throw new Socks5MalformedError(`request has an invalid domain name ${JSON.stringify(text)}`, { cause: err });
  }
}

/** RFC 5952 text form: lower case, no leading zeros, the first longest run (≥2) of zero groups as "::". */
function formatIPv6(bytes: Buffer): string {
  const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2));
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [best, bestLength] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLength).join(":")}`;
}

/** Picks the method to answer a greeting with; only no-auth is accepted. */
export function negotiateMethod(methods: readonly number[]): number {
  if (methods.includes(METHOD.noAuth)) return METHOD.noAuth;
  throw new Socks5MethodError(`client offered no acceptable authentication method (offered ${methods.join(", ")})`);
}

/** The server's method selection message. */
export function encodeMethodSelection(method: number): Buffer {
  return Buffer.from([SOCKS_VERSION, method]);
}

/**
 * A reply; BND.ADDR is 0.0.0.0:0 unless `bound` is given (the bound address of a tunnelled
 * stream means nothing to the client; a UDP ASSOCIATE's is where the client sends datagrams).
 */
export function encodeReply(rep: ReplyCode, bound: HostPort = { host: "0.0.0.0", port: 0 }): Buffer {
  return Buffer.concat([Buffer.from([SOCKS_VERSION, rep, 0x00]), encodeAddress(bound)]);
}

/** ATYP, address and port of an endpoint: an IP literal as such, anything else as a domain name. */
function encodeAddress({ host, port }: HostPort): Buffer {
  const portBytes = Buffer.from([port >> 8, port & 0xff]);
  const family = isIP(host);
  if (family === 4) return Buffer.concat([Buffer.from([ATYP.ipv4, ...host.split(".").map(Number)]), portBytes]);
  if (family === 6) return Buffer.concat([Buffer.from([ATYP.ipv6]), ipv6ToBytes(host), portBytes]);
  const name = Buffer.from(host, "latin1");
  if (name.length === 0 || name.length > 255) throw new RangeError(`host name of ${name.length} bytes cannot be sent in SOCKS5`);
  return Buffer.concat([Buffer.from([ATYP.domain, name.length]), name, portBytes]);
}

function ipv6ToBytes(text: string): Buffer {
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups first.
  const plain = text.replace(
    /(\d+)\.(\d+)\.(\d+)\.(\d+)$/,
    (_m, a: string, b: string, c: string, d: string) => `${((+a << 8) | +b).toString(16)}:${((+c << 8) | +d).toString(16)}`,
  );
  const [head = "", tail] = plain.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right];
  const out = Buffer.alloc(16);
  for (const [i, g] of groups.entries()) out.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  return out;
}

/** A datagram between a SOCKS client and the proxy's UDP relay: where it goes (or came from) and its payload. */
export interface Socks5UdpDatagram {
  target: HostPort;
  data: Buffer;
}

/** A UDP request header that is fragmented (FRAG ≠ 0); such datagrams are dropped, as RFC 1928 allows. */
export class Socks5FragmentError extends Socks5Error {
  override readonly name = "Socks5FragmentError";
  readonly code = "socks-fragmented";
  readonly rep = REP.generalFailure;
}

/** Parses a client's UDP datagram (RFC 1928 §7: RSV, FRAG, ATYP, DST.ADDR, DST.PORT, DATA); throws a Socks5Error. */
export function parseUdpDatagram(buf: Buffer): Socks5UdpDatagram {
  if (buf.length < 4) throw new Socks5MalformedError(`a SOCKS UDP datagram of ${buf.length} bytes has no header`);
  if (buf[0] !== 0 || buf[1] !== 0) throw new Socks5MalformedError("reserved bytes of the UDP header are not zero");
  if (buf[2] !== 0) throw new Socks5FragmentError(`fragment ${buf[2]} of a SOCKS UDP datagram: fragmentation is not supported`);
  const address = readAddress(buf, 3);
  if (!address) throw new Socks5MalformedError("a SOCKS UDP datagram ends inside its address");
  if (address.target.port === 0) throw new Socks5MalformedError("a SOCKS UDP datagram has destination port 0");
  return { target: address.target, data: buf.subarray(address.end) };
}

/** A datagram for the SOCKS client: the header names the target it came from. */
export function encodeUdpDatagram({ target, data }: Socks5UdpDatagram): Buffer {
  return Buffer.concat([Buffer.from([0, 0, 0]), encodeAddress(target), data]);
}

// device-offline and not-found mean the whole device LAN is out of reach, not just one host in it.
const FERNLINK_ERRORS: Partial<Record<ErrorCode, ReplyCode>> = {
  "target-not-allowed": REP.notAllowed,
  forbidden: REP.notAllowed,
  "target-refused": REP.connectionRefused,
  "target-unreachable": REP.hostUnreachable,
  "device-offline": REP.networkUnreachable,
  "not-found": REP.networkUnreachable,
  "target-timeout": REP.ttlExpired,
};

/** The REP code that best describes a Fernlink failure. */
export function replyCodeForErrorCode(code: ErrorCode): ReplyCode {
  return FERNLINK_ERRORS[code] ?? REP.generalFailure;
}

const SYSTEM_ERRORS: Partial<Record<string, ReplyCode>> = {
  ECONNREFUSED: REP.connectionRefused,
  EHOSTUNREACH: REP.hostUnreachable,
  ENOTFOUND: REP.hostUnreachable,
  ENETUNREACH: REP.networkUnreachable,
  ETIMEDOUT: REP.ttlExpired,
};

/** The REP code for any failure: protocol errors, FernlinkErrors, timeouts and socket errno codes. */
export function replyCodeFor(err: unknown): ReplyCode {
  if (err instanceof Socks5Error) return err.rep;
  if (err instanceof FernlinkError) return replyCodeForErrorCode(err.code);
  const { name, code } = (typeof err === "object" && err !== null ? err : {}) as { name?: unknown; code?: unknown };
  if (name === "TimeoutError") return REP.ttlExpired;
  return (typeof code === "string" ? SYSTEM_ERRORS[code] : undefined) ?? REP.generalFailure;
}
