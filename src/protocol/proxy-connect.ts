import { createHash, randomBytes } from "node:crypto";

/** The head of an HTTP proxy's answer to CONNECT: status line, headers (names lower-cased, repeats kept). */
export interface ProxyAnswer {
  status: number;
  reason: string;
  headers: [name: string, value: string][];
}

/** One authentication challenge of a `Proxy-Authenticate` header: its scheme and parameters. */
export interface AuthChallenge {
  /** Lower-cased: "basic", "digest", "ntlm", "negotiate", … */
  scheme: string;
  params: Record<string, string>;
}

/** Who to be at the proxy. */
export interface ProxyCredentials {
  user: string;
  password: string;
}

/** Longest answer head a proxy may send before we give up on it (squid's error pages stay far below). */
export const MAX_PROXY_HEAD = 64 * 1024;

/** The CONNECT request for `authority` ("host:port"), with an optional Proxy-Authorization value. */
export function connectRequest(authority: string, authorization?: string): string {
  const lines = [`CONNECT ${authority} HTTP/1.1`, `Host: ${authority}`, "User-Agent: fernlink"];
  if (authorization) lines.push(`Proxy-Authorization: ${authorization}`);
  return `${lines.join("\r\n")}\r\n\r\n`;
}

/**
 * Finds the end of an answer head in `buffer`: the head's length including its blank line, or
 * -1 while incomplete. Bytes after it already belong to the tunnel.
 */
export function answerHeadLength(buffer: Buffer): number {
  const end = buffer.indexOf("\r\n\r\n");
  return end < 0 ? -1 : end + 4;
}

/** Parses an answer head (status line and headers); undefined when it is not HTTP. */
export function parseProxyAnswer(head: string): ProxyAnswer | undefined {
  const lines = head.split("\r\n");
  const status = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0] ?? "");
  if (!status) return undefined;
  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) return undefined;
    headers.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]);
  }
  return { status: Number(status[1]), reason: status[2] ?? "", headers };
}

/** Every challenge of every `Proxy-Authenticate` header of an answer, in order. */
export function proxyChallenges(answer: ProxyAnswer): AuthChallenge[] {
  return answer.headers.filter(([name]) => name === "proxy-authenticate").flatMap(([, value]) => parseChallenges(value));
}

/**
 * Parses a challenge list (RFC 9110 §11.6.1): `Digest realm="x", nonce="y", Basic realm="z"`.
 * A token without "=" after a comma starts the next challenge.
 */
export function parseChallenges(value: string): AuthChallenge[] {
  const out: AuthChallenge[] = [];
  const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y;
  let i = 0;
  const skip = (chars: RegExp): void => {
    while (i < value.length && chars.test(value[i]!)) i++;
  };
  const token = (): string | undefined => {
    TOKEN.lastIndex = i;
    const m = TOKEN.exec(value);
    if (!m) return undefined;
    i = TOKEN.lastIndex;
    return m[0];
  };
  let current: AuthChallenge | undefined;
  while (i < value.length) {
    skip(/[\s,]/);
    const name = token();
    if (name === undefined) break;
    skip(/[ \t]/);
    if (value[i] === "=" && current && value[i + 1] !== "=") {
      i++;
      skip(/[ \t]/);
      current.params[name.toLowerCase()] = value[i] === '"' ? quoted() : (token() ?? "");
      continue;
    }
    current = { scheme: name.toLowerCase(), params: {} };
    out.push(current);
    // "Negotiate abc==": a token68 instead of parameters.
    const m = /([A-Za-z0-9+/._~-]+=*)[ \t]*(?:,|$)/y;
    m.lastIndex = i;
    const t68 = m.exec(value);
    if (t68?.[1] !== undefined && !/^[^=]+=[^=]/.test(value.slice(i))) {
      current.params["token68"] = t68[1];
      i = m.lastIndex;
    }
  }
  return out;

  /** A quoted-string at `i`, unescaped. */
  function quoted(): string {
    let text = "";
    for (i++; i < value.length && value[i] !== '"'; i++) text += value[i] === "\\" ? (value[++i] ?? "") : value[i];
    i++;
    return text;
  }
}

/** The `Proxy-Authorization` value for Basic. */
export function basicAuthorization(credentials: ProxyCredentials): string {
  return `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`, "utf8").toString("base64")}`;
}

const DIGEST_HASHES: Record<string, string> = { md5: "md5", "md5-sess": "md5", "sha-256": "sha256", "sha-256-sess": "sha256" };

/**
 * The `Proxy-Authorization` value answering a Digest challenge (RFC 7616) for `CONNECT uri`;
 * undefined for an algorithm or qop we do not speak. `cnonce` is given by tests.
 */
export function digestAuthorization(
  challenge: AuthChallenge,
  credentials: ProxyCredentials,
  request: { method: string; uri: string },
  cnonce = randomBytes(12).toString("hex"),
): string | undefined {
  const { realm = "", nonce, opaque, qop } = challenge.params;
  const algorithm = (challenge.params["algorithm"] ?? "MD5").toLowerCase();
  const hashName = DIGEST_HASHES[algorithm];
  if (nonce === undefined || hashName === undefined) return undefined;
  const h = (text: string): string => createHash(hashName).update(text, "utf8").digest("hex");
  let ha1 = h(`${credentials.user}:${realm}:${credentials.password}`);
  if (algorithm.endsWith("-sess")) ha1 = h(`${ha1}:${nonce}:${cnonce}`);
  const ha2 = h(`${request.method}:${request.uri}`);
  const qops = qop?.split(",").map((q) => q.trim().toLowerCase());
  if (qops !== undefined && !qops.includes("auth")) return undefined;
  const nc = "00000001";
  const response = qops ? h(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`) : h(`${ha1}:${nonce}:${ha2}`);
  const q = (s: string): string => `"${s.replace(/["\\]/g, "\\$&")}"`;
  const parts = [
    `username=${q(credentials.user)}`,
    `realm=${q(realm)}`,
    `nonce=${q(nonce)}`,
    `uri=${q(request.uri)}`,
    `algorithm=${challenge.params["algorithm"] ?? "MD5"}`,
    `response=${q(response)}`,
  ];
  if (opaque !== undefined) parts.push(`opaque=${q(opaque)}`);
  if (qops) parts.push("qop=auth", `nc=${nc}`, `cnonce=${q(cnonce)}`);
  return `Digest ${parts.join(", ")}`;
}

/** How to answer a 407: Digest when offered (the password never crosses in clear), else Basic; or why not. */
export function chooseAuthorization(
  challenges: AuthChallenge[],
  credentials: ProxyCredentials,
  authority: string,
): { authorization: string } | { unsupported: string } {
  for (const c of challenges.filter((c) => c.scheme === "digest")) {
    const authorization = digestAuthorization(c, credentials, { method: "CONNECT", uri: authority });
    if (authorization) return { authorization };
  }
  if (challenges.some((c) => c.scheme === "basic")) return { authorization: basicAuthorization(credentials) };
  const schemes = challenges.map((c) => c.scheme).join(", ") || "none";
  return { unsupported: schemes };
}
