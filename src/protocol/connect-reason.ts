import { FernlinkError } from "./errors.js";

/**
 * The reason (a ticket number, a sentence) a user gives for a connection when the account's
 * policy requires one. It travels percent-encoded in one header of the stream's CONNECT (header
 * values are latin-1 only) and is kept in the stream's audit records, inside their `reason`
 * field, which the audit chain covers.
 */

/** The longest reason accepted, in characters. */
export const REASON_MAX_LENGTH = 200;

/** How a user gives a reason, for the one line that says it is missing. */
export const REASON_HOW = "give one with --reason TEXT or FERNLINK_REASON (e.g. a ticket number)";

// Control characters (C0, DEL, C1) and the line and paragraph separators break the one-line forms.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is this pattern's job
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** The reason trimmed, or an "invalid-input" error saying what is wrong with it. */
export function validateReason(text: string): string {
  const reason = text.trim();
  if (reason === "") throw new FernlinkError("invalid-input", `the connect reason is empty; ${REASON_HOW}`);
  if ([...reason].length > REASON_MAX_LENGTH)
    throw new FernlinkError("invalid-input", `the connect reason is longer than ${REASON_MAX_LENGTH} characters; shorten it`);
  if (UNPRINTABLE.test(reason)) throw new FernlinkError("invalid-input", "the connect reason holds a control character or line break; give one line of text");
  return reason;
}

/** The reason as a header value (ASCII only). */
export function encodeReasonHeader(reason: string): string {
  return encodeURIComponent(reason);
}

/** A reason header back as text, validated; undefined when absent. */
export function decodeReasonHeader(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let text: string;
  try {
    text = decodeURIComponent(value);
  } catch {
    throw new FernlinkError("invalid-input", "the connect reason header is not percent-encoded text");
  }
  return validateReason(text);
}

/** How a portal user gives a reason. */
export const PORTAL_REASON_HOW = "type one in the reason field on the device's page, then open it again";

/** The refusal of a stream or portal session that came without a reason its account requires. */
export function reasonRequired(how = REASON_HOW): FernlinkError {
  return new FernlinkError("reason-required", `your account requires a reason for every connection; ${how}`);
}

const NOTE_FORM = /^reason ("(?:[^"\\]|\\.)*")(?:; ([\s\S]*))?$/;

/** The audit `reason` field of a stream: the connect reason (JSON-quoted, so it splits back exactly), then any note. */
export function streamNote(reason: string | undefined, note: string | null): string | null {
  if (reason === undefined) return note;
  return note === null ? `reason ${JSON.stringify(reason)}` : `reason ${JSON.stringify(reason)}; ${note}`;
}

/** Splits a stream record's `reason` field back into the connect reason and the note. */
export function splitStreamNote(field: string | null): { reason: string | null; note: string | null } {
  if (field === null) return { reason: null, note: null };
  const match = NOTE_FORM.exec(field);
  if (!match) return { reason: null, note: field };
  try {
    return { reason: JSON.parse(match[1]!) as string, note: match[2] ?? null };
  } catch {
    return { reason: null, note: field };
  }
}
