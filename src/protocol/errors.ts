/** Stable error codes: callers branch on these, never on message text. */
export const ERROR_STATUS = {
  "invalid-input": 400,
  unauthenticated: 401,
  "login-failed": 401,
  "otp-required": 401,
  forbidden: 403,
  "password-expired": 403,
  "otp-enrollment-required": 403,
  "password-change-required": 403,
  "user-locked": 403,
  "wrong-password": 403,
  "otp-invalid": 403,
  "account-disabled": 403,
  throttled: 429,
  "password-too-short": 400,
  "password-too-common": 400,
  "password-is-name": 400,
  "password-reused": 400,
  "target-not-allowed": 403,
  "remote-access-off": 403,
  "not-found": 404,
  conflict: 409,
  "activation-key-invalid": 403,
  "activation-key-used": 403,
  "activation-key-expired": 403,
  "activation-key-replaced": 403,
  "certificate-rejected": 403,
  "certificate-revoked": 403,
  "too-many-streams": 429,
  "reason-required": 403,
  "target-refused": 502,
  "target-unreachable": 502,
  "vnc-auth-failed": 502,
  "vnc-handshake-failed": 502,
  "device-offline": 503,
  "target-timeout": 504,
  "server-unreachable": 503,
  "certificate-untrusted": 503,
  internal: 500,
} as const;

/** One of the failure kinds that Fernlink reports across process boundaries. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/** True when `value` is one of the known error codes (used when decoding peers' replies). */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ERROR_STATUS, value);
}

/** An expected failure with a stable `code`, an HTTP status and a message fit for the user. */
export class FernlinkError extends Error {
  override readonly name = "FernlinkError";
  readonly code: ErrorCode;
  readonly status: number;

  /** For "throttled": when the caller may try again. */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(message, options);
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

/** A command line that cannot be run as given; the CLI exits with status 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  readonly code = "usage";
}

/** True for FernlinkError instances (checked by class, not by shape). */
export function isFernlinkError(err: unknown): err is FernlinkError {
  return err instanceof FernlinkError;
}

/** The message of any thrown value, for logs. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
