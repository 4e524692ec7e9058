import type { KeyObject } from "node:crypto";
import type { Kysely } from "kysely";
import { FernlinkError } from "../protocol/errors.js";
import type { AuditAction } from "./audit-actions.js";
import { hashSecret, randomSecret } from "./secret-token.js";
import { appendAudit } from "./store/audit.js";
import { createOperatorToken, findOperatorToken, revokeOperatorToken } from "./store/operator-tokens.js";
import type { Database } from "./store/schema.js";

/**
 * Operator tokens let the service operator manage accounts remotely (`/api/v1/operator/…`).
 * They are made and revoked only on the server's host (`fernlink operator token add|revoke`),
 * so a stolen token cannot make another; each is 256 random bits, stored as its SHA-256.
 */

/** What every operator token starts with: it is never mistaken for a session or an API token. */
export const OPERATOR_TOKEN_PREFIX = "flo_";

/** Who made or revoked a token on the host, and the key that chains the record. */
export interface TokenRecord {
  auditKey: KeyObject;
  operator: string;
  now: Date;
}

async function record(db: Kysely<Database>, rec: TokenRecord, action: AuditAction, name: string): Promise<void> {
  await appendAudit(db, rec.auditKey, { at: rec.now, actor: rec.operator, source: "operator", action, object: name, result: "ok" });
}

/** Makes an operator token and returns it; it is shown this once and stored only as its hash. */
export async function addOperatorToken(db: Kysely<Database>, name: string, rec: TokenRecord): Promise<string> {
  const token = `${OPERATOR_TOKEN_PREFIX}${randomSecret(32)}`;
  await db.transaction().execute(async (trx) => {
    await createOperatorToken(trx, { name, tokenHash: hashSecret(token), createdBy: rec.operator, now: rec.now });
    await record(trx, rec, "operator-token.add", name);
  });
  return token;
}

/** Revokes an operator token by name; "not-found" when there is no such live token. */
export async function removeOperatorToken(db: Kysely<Database>, name: string, rec: TokenRecord): Promise<void> {
  await db.transaction().execute(async (trx) => {
    if (!(await revokeOperatorToken(trx, name, rec.now))) {
      throw new FernlinkError("not-found", `no operator token "${name}" to revoke; see: fernlink operator token list --data DIR`);
    }
    await record(trx, rec, "operator-token.revoke", name);
  });
}

/** The name of the operator token in an `authorization: Bearer` value, or "unauthenticated". */
export async function authenticateOperator(db: Kysely<Database>, bearer: string | undefined): Promise<string> {
  const refused = new FernlinkError(
    "unauthenticated",
    "this route needs an operator token; make one on the server with: fernlink operator token add NAME --data DIR",
  );
  if (!bearer?.startsWith(OPERATOR_TOKEN_PREFIX)) throw refused;
  const found = await findOperatorToken(db, hashSecret(bearer));
  if (!found) throw refused;
  return found.name;
}
