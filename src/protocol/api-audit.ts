import { z } from "zod";
import { AuditRecord, NameSchema, ROUTES } from "./api.js";
import type { RouteDoc } from "./openapi.js";

/** A time filter: any ISO 8601 time or date (`2026-11-27`, `2026-11-27T10:00:00Z`). */
export const IsoTime = z
  .string()
  .max(64)
  .refine((s) => /^\d{4}-\d{2}-\d{2}/.test(s) && !Number.isNaN(Date.parse(s)), "use an ISO 8601 time such as 2026-11-27T10:00:00Z");

/** Most records one page of a listing returns; clients page with `before`. */
export const MAX_PAGE = 1000;

const limit = (fallback: number) => z.coerce.number().int().min(1).max(MAX_PAGE).default(fallback);
const before = z.coerce.number().int().min(1).optional();

/** GET /api/v1/audit — admin: the account's records, newest first, filtered. */
export const AuditQuery = z.strictObject({
  since: IsoTime.optional(),
  user: NameSchema.optional(),
  device: NameSchema.optional(),
  limit: limit(50),
  /** Only records older than this seq (the last seq of the previous page). */
  before,
});
export type AuditQuery = z.infer<typeof AuditQuery>;

/** GET /api/v1/audit/verify — admin: optionally a head kept from an earlier run, `SEQ:HASH`. */
export const AuditVerifyQuery = z.strictObject({
  expectHead: z
    .string()
    .regex(/^\d+:[0-9a-f]{64}$/, "a head is SEQ:HASH as `fernlink audit verify` prints it")
    .optional(),
});
export type AuditVerifyQuery = z.infer<typeof AuditVerifyQuery>;

/** The newest record of a chain: keep it elsewhere to detect later truncation. */
export const AuditHead = z.strictObject({ seq: z.number().int(), hash: z.string(), count: z.number().int() });
export type AuditHead = z.infer<typeof AuditHead>;

/** The result of walking the caller's account chain. */
export const AuditVerification = z.strictObject({
  ok: z.boolean(),
  account: NameSchema,
  /** Records verified (up to the break, when broken). */
  records: z.number().int(),
  /** Records written before the audit was chained: listed, but not protected. */
  unchained: z.number().int(),
  head: AuditHead.nullable(),
  problem: z
    .strictObject({
      kind: z.enum(["altered", "missing", "inserted", "reordered"]),
      /** The first broken record; null when the problem is the head row. */
      seq: z.number().int().nullable(),
      record: AuditRecord.nullable(),
      message: z.string(),
    })
    .nullable(),
});
export type AuditVerification = z.infer<typeof AuditVerification>;

/** GET /api/v1/reports/connections — admin: streams open at any time since `since`, newest first. */
export const ConnectionsQuery = z.strictObject({
  since: IsoTime.optional(),
  limit: limit(MAX_PAGE),
  before,
});
export type ConnectionsQuery = z.infer<typeof ConnectionsQuery>;

/** One finished stream: who reached which target of which device, when, for how long, how many bytes. */
export const ConnectionRecord = z.strictObject({
  /** Seq of the audit record it comes from (for paging with `before`). */
  seq: z.number().int(),
  user: z.string().nullable(),
  source: z.string().nullable(),
  device: z.string().nullable(),
  target: z.string().nullable(),
  start: z.string(),
  end: z.string(),
  durationMs: z.number().int(),
  bytesUp: z.number().int(),
  bytesDown: z.number().int(),
  /** The reason the user gave for the connection (`account policy --require-reason`); null: none. */
  reason: z.string().nullable(),
  /** Set when the stream ended abnormally, or its bytes were recorded. */
  note: z.string().nullable(),
});
export type ConnectionRecord = z.infer<typeof ConnectionRecord>;

/** The audit and report routes, for the OpenAPI document. */
export const AUDIT_ROUTE_DOCS: readonly RouteDoc[] = [
  {
    method: "get",
    path: ROUTES.audit,
    summary: "Audit records of the account, newest first, filtered (admin)",
    auth: "session",
    role: "admin",
    query: AuditQuery,
    response: z.array(AuditRecord),
  },
  {
    method: "get",
    path: ROUTES.auditVerify,
    summary: "Walk the account's audit hash chain and name the first broken record (admin)",
    auth: "session",
    role: "admin",
    query: AuditVerifyQuery,
    response: AuditVerification,
  },
  {
    method: "get",
    path: ROUTES.connectionsReport,
    summary: "Finished streams: who, device, target, start, duration, bytes (admin)",
    auth: "session",
    role: "admin",
    query: ConnectionsQuery,
    response: z.array(ConnectionRecord),
  },
];
