import https from "node:https";
import type { Duplex } from "node:stream";
import type { z } from "zod";
import { ErrorBody } from "../protocol/api.js";
import { FernlinkError, isErrorCode } from "../protocol/errors.js";
import { dialTls } from "./server-dialer.js";

/** One JSON call to the access service over HTTPS. */
export interface JsonRequest<T extends z.ZodType> {
  server: string;
  path: string;
  method?: "GET" | "POST" | "PUT" | "DELETE";
  body?: unknown;
  /** PEM of the CA to trust; undefined means the system store. */
  ca?: string | undefined;
  token?: string | undefined;
  /** Client certificate (agents). */
  cert?: string | undefined;
  key?: string | undefined;
  response: T;
  timeoutMs?: number;
}

const TLS_TRUST_ERRORS = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_SIGNATURE_FAILURE",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "CERT_HAS_EXPIRED",
]);

/** What a server certificate from another CA than the one given looks like. */
const CA_MISMATCH_ERRORS = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_SIGNATURE_FAILURE",
]);

/** Turns a socket-level failure into the one-line error a user can act on. */
export function networkError(err: NodeJS.ErrnoException, server: string, caGiven = false): FernlinkError {
  if (caGiven && err.code && CA_MISMATCH_ERRORS.has(err.code)) {
    return new FernlinkError(
      "certificate-untrusted",
      `the CA given did not sign the certificate of ${server} (${err.code}); pass this server's own ca.pem with --ca FILE or FERNLINK_CA`,
      { cause: err },
    );
  }
  if (err.code && TLS_TRUST_ERRORS.has(err.code)) {
    return new FernlinkError(
      "certificate-untrusted",
      `the certificate of ${server} is not trusted (${err.code}); pass the server's CA with --ca FILE or FERNLINK_CA`,
      { cause: err },
    );
  }
  return new FernlinkError("server-unreachable", `cannot reach ${server} (${err.code ?? err.message}); check the URL and that the server runs`, {
    cause: err,
  });
}

/** Sends a JSON request and validates the JSON answer; API errors come back as FernlinkError. */
export function requestJson<T extends z.ZodType>(req: JsonRequest<T>): Promise<z.infer<T>> {
  const url = new URL(req.path, req.server);
  const payload = req.body === undefined ? undefined : JSON.stringify(req.body);
  const headers: Record<string, string> = { accept: "application/json" };
  if (payload !== undefined) headers["content-type"] = "application/json";
  if (req.token) headers["authorization"] = `Bearer ${req.token}`;
  return new Promise((resolve, reject) => {
    const r = https.request(
      url,
      {
        method: req.method ?? (payload === undefined ? "GET" : "POST"),
        headers,
        timeout: req.timeoutMs ?? 15_000,
        agent: new DialingAgent(req, url),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", (err) => reject(networkError(err, req.server, req.ca !== undefined)));
        res.on("end", () => {
          try {
            resolve(
              decodeJsonAnswer({
                status: res.statusCode ?? 500,
                retryAfter: res.headers["retry-after"],
                body: Buffer.concat(chunks),
                schema: req.response,
                server: req.server,
                path: url.pathname,
              }),
            );
          } catch (err) {
            reject(err);
          }
        });
      },
    );
    r.on("timeout", () => r.destroy(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })));
    r.on("error", (err) => reject(err instanceof FernlinkError ? err : networkError(err, req.server, req.ca !== undefined)));
    r.end(payload);
  });
}

/** One request's connection, made by the one dialer (direct or through the proxy, the chain checked there). */
class DialingAgent extends https.Agent {
  constructor(
    private readonly req: JsonRequest<z.ZodType>,
    private readonly url: URL,
  ) {
    super({ keepAlive: false });
  }

  override createConnection(_options: unknown, done: (err: Error | null, socket?: Duplex) => void): undefined {
    const { req, url } = this;
    dialTls({
      host: url.hostname.replace(/^\[|\]$/g, ""),
      port: Number(url.port || 443),
      ca: req.ca,
      cert: req.cert,
      key: req.key,
      alpn: ["http/1.1"],
      label: req.server,
      timeoutMs: req.timeoutMs ?? 15_000,
    }).then(
      (socket) => done(null, socket),
      (err: Error) => done(err instanceof FernlinkError ? err : networkError(err as NodeJS.ErrnoException, req.server, req.ca !== undefined)),
    );
    return undefined;
  }
}

/**
 * Reads a JSON answer of the access service: the validated body, or the API's error as a
 * FernlinkError (with Retry-After when given); anything else is a one-line "internal".
 */
export function decodeJsonAnswer<T extends z.ZodType>(answer: {
  status: number;
  retryAfter?: string | string[] | undefined;
  body: Buffer;
  schema: T;
  server: string;
  path: string;
}): z.infer<T> {
  const { status, server, path } = answer;
  let json: unknown;
  try {
    const text = answer.body.toString("utf8");
    json = text ? JSON.parse(text) : null;
  } catch {
    throw new FernlinkError("internal", `${server} answered ${status} with something that is not JSON; is it a Fernlink server?`);
  }
  if (status >= 400) {
    const parsed = ErrorBody.safeParse(json);
    if (!parsed.success) throw new FernlinkError("internal", `${server} answered ${status} to ${path}`);
    const { code, message } = parsed.data.error;
    const retryAfter = Number(answer.retryAfter);
    const retry = Number.isInteger(retryAfter) && retryAfter >= 0 ? { retryAfterSeconds: retryAfter } : {};
    throw new FernlinkError(isErrorCode(code) ? code : "internal", message, retry);
  }
  const ok = answer.schema.safeParse(json);
  if (!ok.success) throw new FernlinkError("internal", `${server} sent an answer to ${path} this client does not understand; are the versions compatible?`);
  return ok.data;
}
