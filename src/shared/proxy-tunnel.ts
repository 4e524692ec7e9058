import net from "node:net";
import { FernlinkError } from "../protocol/errors.js";
import {
  answerHeadLength,
  chooseAuthorization,
  connectRequest,
  MAX_PROXY_HEAD,
  type ProxyAnswer,
  parseProxyAnswer,
  proxyChallenges,
} from "../protocol/proxy-connect.js";
import type { ProxySetting } from "../protocol/proxy-settings.js";

/** "host:port" as a CONNECT request names it (IPv6 in brackets). */
export function authorityOf(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/**
 * Opens a TCP connection to `host:port` through the HTTP proxy with CONNECT, answering a 407
 * with Digest or Basic (on a fresh connection: proxies commonly close after a 407). Resolves
 * with the socket once the proxy said 200; every refusal is a one-line FernlinkError.
 */
export async function connectThroughProxy(proxy: ProxySetting, host: string, port: number, signal?: AbortSignal): Promise<net.Socket> {
  const authority = authorityOf(host, port);
  const at = `the proxy ${authorityOf(proxy.host, proxy.port)} (${proxy.source})`;
  let reply = await attempt(proxy, authority, at, undefined, signal);
  if (reply.answer.status === 407) {
    const challenges = proxyChallenges(reply.answer);
    if (!proxy.credentials) {
      const schemes = challenges.map((c) => c.scheme).join(", ") || "a login";
      throw new FernlinkError(
        "server-unreachable",
        `${at} asks for ${schemes}: give the user with --proxy http://USER@HOST:PORT and set FERNLINK_PROXY_PASSWORD`,
      );
    }
    const choice = chooseAuthorization(challenges, proxy.credentials, authority);
    if ("unsupported" in choice)
      throw new FernlinkError(
        "server-unreachable",
        `${at} asks for ${choice.unsupported} authentication, which Fernlink does not support (only Basic and Digest); ` +
          `ask the plant's IT for Basic or Digest, or for an exception for ${authority}`,
      );
    reply = await attempt(proxy, authority, at, choice.authorization, signal);
    if (reply.answer.status === 407)
      throw new FernlinkError("server-unreachable", `${at} refused the user "${proxy.credentials.user}" (407): check the user and FERNLINK_PROXY_PASSWORD`);
  }
  const { status, reason } = reply.answer;
  if (status < 200 || status > 299)
    throw new FernlinkError(
      "server-unreachable",
      `${at} refused CONNECT to ${authority} (${status}${reason ? ` ${reason}` : ""}): ask the plant's IT to let this computer reach ${authority}`,
    );
  return reply.socket;
}

/** One CONNECT on a new connection to the proxy: its answer, and the socket (destroyed unless 2xx). */
function attempt(
  proxy: ProxySetting,
  authority: string,
  at: string,
  authorization: string | undefined,
  signal: AbortSignal | undefined,
): Promise<{ answer: ProxyAnswer; socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    // Not net.connect's own `signal`: that one would destroy the tunnel when the dial's deadline passes.
    const socket = net.connect({ host: proxy.host, port: proxy.port });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    let buffered = Buffer.alloc(0);
    const fail = (err: Error): void => {
      signal?.removeEventListener("abort", onAbort);
      socket.destroy();
      reject(err);
    };
    const onAbort = (): void => fail(Object.assign(new Error(`timed out waiting for ${at}`), { code: "ETIMEDOUT" }));
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    const onError = (err: NodeJS.ErrnoException): void =>
      fail(new FernlinkError("server-unreachable", `cannot reach ${at} (${err.code ?? err.message}); check the proxy's address`, { cause: err }));
    const onClose = (): void => fail(new FernlinkError("server-unreachable", `${at} closed the connection without answering CONNECT ${authority}`));
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const length = answerHeadLength(buffered);
      if (length < 0) {
        if (buffered.length > MAX_PROXY_HEAD) fail(new FernlinkError("server-unreachable", `${at} sent an answer too long to be an HTTP proxy's`));
        return;
      }
      socket.removeListener("data", onData);
      socket.removeListener("error", onError);
      socket.removeListener("close", onClose);
      signal?.removeEventListener("abort", onAbort);
      socket.pause();
      const answer = parseProxyAnswer(buffered.subarray(0, length - 4).toString("latin1"));
      if (!answer)
        return void fail(new FernlinkError("server-unreachable", `${at} did not answer CONNECT like an HTTP proxy; check the proxy's address and port`));
      if (answer.status < 200 || answer.status > 299) socket.destroy();
      // Bytes after the head are the tunnel's first: the server spoke first.
      else if (length < buffered.length) socket.unshift(buffered.subarray(length));
      resolve({ answer, socket });
    };
    socket.on("data", onData);
    socket.once("error", onError);
    socket.once("close", onClose);
    socket.once("connect", () => socket.write(connectRequest(authority, authorization)));
  });
}
