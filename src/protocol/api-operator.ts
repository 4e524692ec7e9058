import { z } from "zod";
import { NameSchema } from "./api.js";
import { IsoTime } from "./api-audit.js";
import type { RouteDoc } from "./openapi.js";

/** The service operator's routes, above accounts; they take an operator token, never a session. */
export const OPERATOR_ROUTES = {
  accounts: "/api/v1/operator/accounts",
  accountState: "/api/v1/operator/accounts/:name/state",
} as const;

/** One account with its state and usage (what `fernlink operator account list --json` prints). */
export const OperatorAccount = z.strictObject({
  name: z.string(),
  id: z.string(),
  state: z.enum(["enabled", "disabled"]),
  disabledAt: z.string().nullable(),
  createdAt: z.string(),
  users: z.number(),
  devices: z.number(),
  /** Devices whose newest tunnel record is "up" and that were seen in the last 2.5 minutes. */
  online: z.number(),
  /** Streams opened and not yet closed in the audit, on a device online. */
  streams: z.number(),
  /** Bytes of the closed streams (since `since`, else all), each way. */
  bytesUp: z.number(),
  bytesDown: z.number(),
});
export type OperatorAccount = z.infer<typeof OperatorAccount>;

export const OperatorAccountList = z.array(OperatorAccount);

/** GET accounts: count the bytes of streams closed since then (ISO 8601). */
export const OperatorAccountQuery = z.strictObject({ since: IsoTime.optional() });

/** POST accounts: a new account and its first admin, whose password must pass the default policy. */
export const OperatorAccountAdd = z.strictObject({ name: NameSchema, admin: NameSchema, password: z.string().min(1).max(1024) });
export type OperatorAccountAdd = z.infer<typeof OperatorAccountAdd>;

/** POST accounts/:name/state: disable or enable the account. */
export const OperatorAccountState = z.strictObject({ state: z.enum(["enabled", "disabled"]) });
export type OperatorAccountState = z.infer<typeof OperatorAccountState>;

/** The answer to a state change: whether it changed anything. */
export const OperatorAccountStateAnswer = z.strictObject({ name: z.string(), state: z.enum(["enabled", "disabled"]), changed: z.boolean() });

export const OPERATOR_ROUTE_DOCS: readonly RouteDoc[] = [
  {
    method: "get",
    path: OPERATOR_ROUTES.accounts,
    summary: "Every account with its state and usage (query: since, for the bytes)",
    auth: "operator-token",
    query: OperatorAccountQuery,
    response: OperatorAccountList,
  },
  {
    method: "post",
    path: OPERATOR_ROUTES.accounts,
    summary: "Create an account with its first admin",
    auth: "operator-token",
    request: OperatorAccountAdd,
    response: OperatorAccount,
    status: 201,
  },
  {
    method: "post",
    path: OPERATOR_ROUTES.accountState,
    summary: "Disable an account (its users, tokens and devices are refused, its streams cut) or enable it again",
    auth: "operator-token",
    request: OperatorAccountState,
    response: OperatorAccountStateAnswer,
  },
];
