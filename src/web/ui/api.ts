/**
 * The one way the portal talks to the server: same-origin fetch with the session cookie, JSON in
 * and out, the CSRF header on every mutating request, and the server's `{ error: { code, message } }`
 * turned into an ApiError. A 401 tells the app the session is gone, wherever it happens.
 */

/** An API call that failed, with the server's stable code and its message for people. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Why the app must leave the current page: the session ended, or it is restricted. */
export type SessionSignal = "expired" | "password-expired" | "password-change-required" | "otp-enrollment-required";

let csrfToken: string | null = null;
let signalHandler: (signal: SessionSignal) => void = () => undefined;

/** Remembers the CSRF token of the current session (null after sign-out). */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Registers the app's reaction to an ended or restricted session. */
export function onSessionSignal(handler: (signal: SessionSignal) => void): void {
  signalHandler = handler;
}

/** Options of one API call. */
export interface CallOptions {
  method?: "GET" | "POST" | "DELETE";
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  signal?: AbortSignal;
  /** False for calls where a 401 is an answer, not a lost session (sign-in, the first session check). */
  sessionRequired?: boolean;
}

/** A route pattern with its `:params` filled in, URL-encoded. */
export function path(pattern: string, params: Record<string, string | number>): string {
  return pattern.replace(/:([a-z]+)/gi, (_, key: string) => encodeURIComponent(String(params[key] ?? "")));
}

function withQuery(url: string, query: CallOptions["query"]): string {
  if (!query) return url;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== "") q.set(k, String(v));
  const text = q.toString();
  return text ? `${url}?${text}` : url;
}

async function errorOf(res: Response, method: string, url: string): Promise<ApiError> {
  try {
    const body = (await res.json()) as { error?: { code?: unknown; message?: unknown } };
    const { code, message } = body.error ?? {};
    if (typeof code === "string" && typeof message === "string") return new ApiError(res.status, code, message);
  } catch {
    // Not JSON (a proxy's error page, say): fall through to a generic message.
  }
  return new ApiError(res.status, `http-${res.status}`, `${method} ${url} failed: HTTP ${res.status} ${res.statusText}`.trim());
}

/** Calls the API and returns the parsed JSON body; throws ApiError on any failure. */
export async function call<T>(url: string, options: CallOptions = {}): Promise<T> {
  const method = options.method ?? "GET";
  const headers: Record<string, string> = { accept: "application/json" };
  if (method !== "GET") {
    headers["content-type"] = "application/json";
    if (csrfToken) headers["x-csrf-token"] = csrfToken;
  }
  const target = withQuery(url, options.query);
  let res: Response;
  try {
    res = await fetch(target, {
      method,
      headers,
      credentials: "same-origin",
      cache: "no-store",
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === "AbortError") throw err;
    throw new ApiError(0, "network", `${method} ${url} failed: the server cannot be reached`);
  }
  if (!res.ok) {
    const error = await errorOf(res, method, url);
    if (res.status === 401 && options.sessionRequired !== false) signalHandler("expired");
    if (error.code === "password-expired" || error.code === "password-change-required" || error.code === "otp-enrollment-required") signalHandler(error.code);
    throw error;
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** True when `err` is an aborted fetch (a page left before its data arrived). */
export function isAbort(err: unknown): boolean {
  return err instanceof DOMException && err.name === "AbortError";
}

/** The message to show for any thrown value. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
