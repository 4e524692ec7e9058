import { randomUUID } from "node:crypto";
import type { Kysely, Selectable } from "kysely";
import { FernlinkError } from "../../protocol/errors.js";
import { constraintViolation } from "./db-errors.js";
import type { Database, OperatorTokensTable } from "./schema.js";
import type { Instant } from "./time.js";
import { iso } from "./time.js";

export type OperatorToken = Selectable<OperatorTokensTable>;

/** Stores a new operator token by its hash; "conflict" when the name is taken (revoked ones too: names stay unique in the audit). */
export async function createOperatorToken(
  db: Kysely<Database>,
  input: { name: string; tokenHash: string; createdBy: string; now: Instant },
): Promise<OperatorToken> {
  try {
    return await db
      .insertInto("operator_tokens")
      .values({ id: randomUUID(), name: input.name, token_hash: input.tokenHash, created_by: input.createdBy, created_at: iso(input.now), revoked_at: null })
      .returningAll()
      .executeTakeFirstOrThrow();
  } catch (err) {
    if (constraintViolation(err) === "unique") throw new FernlinkError("conflict", `operator token "${input.name}" already exists`, { cause: err });
    throw err;
  }
}

/** The unrevoked operator token with this hash, if any. */
export function findOperatorToken(db: Kysely<Database>, tokenHash: string): Promise<OperatorToken | undefined> {
  return db.selectFrom("operator_tokens").selectAll().where("token_hash", "=", tokenHash).where("revoked_at", "is", null).executeTakeFirst();
}

/** Every operator token, revoked ones included, by name. */
export function listOperatorTokens(db: Kysely<Database>): Promise<OperatorToken[]> {
  return db.selectFrom("operator_tokens").selectAll().orderBy("name").execute();
}

/** Revokes an operator token by name; false when there is no such unrevoked token. */
export async function revokeOperatorToken(db: Kysely<Database>, name: string, now: Instant): Promise<boolean> {
  const result = await db
    .updateTable("operator_tokens")
    .set({ revoked_at: iso(now) })
    .where("name", "=", name)
    .where("revoked_at", "is", null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}
