import https from "node:https";
import type { z } from "zod";
import { ErrorBody } from "../protocol/api.js";
import { FernlinkError, isErrorCode } from "./errors.js";

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

/** Turns a socket-level failure into the one-line error a user can act on. */
export function networkError(err: NodeJS.ErrnoException, server: string): FernlinkError {
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
        ...(req.ca ? { ca: req.ca } : {}),
        ...(req.cert && req.key ? { cert: req.cert, key: req.key } : {}),
        timeout: req.timeoutMs ?? 15_000,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", (err) => reject(networkError(err, req.server)));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : null;
          } catch {
            return reject(new FernlinkError("internal", `${req.server} answered ${res.statusCode} with something that is not JSON; is it a Fernlink server?`));
          }
          if ((res.statusCode ?? 500) >= 400) {
            const parsed = ErrorBody.safeParse(json);
            if (parsed.success) {
              const { code, message } = parsed.data.error;
              const retryAfter = Number(res.headers["retry-after"]);
              const retry = Number.isInteger(retryAfter) && retryAfter >= 0 ? { retryAfterSeconds: retryAfter } : {};
              return reject(new FernlinkError(isErrorCode(code) ? code : "internal", message, retry));
            }
            return reject(new FernlinkError("internal", `${req.server} answered ${res.statusCode} to ${url.pathname}`));
          }
          const ok = req.response.safeParse(json);
          if (!ok.success) return reject(new FernlinkError("internal", `${req.server} sent an answer to ${url.pathname} this client does not understand; are the versions compatible?`));
          resolve(ok.data);
        });
      },
    );
    r.on("timeout", () => r.destroy(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })));
    r.on("error", (err) => reject(networkError(err, req.server)));
    r.end(payload);
  });
}
