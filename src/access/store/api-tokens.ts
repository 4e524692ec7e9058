import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { FernlinkError } from "../../protocol/errors.js";
import { byNaturalName } from "../../shared/natural-order.js";
import { constraintViolation } from "./db-errors.js";
import type { Account, ApiToken, Database, User } from "./schema.js";
import type { Instant } from "./time.js";
import { iso } from "./time.js";

/** A usable API token with the account it belongs to and the user who made it. */
export interface ActiveApiToken {
  token: ApiToken;
  account: Account;
  creator: User;
}

/**
 * Stores a new token. A revoked or expired token of the same name is replaced; a usable one
 * is a "conflict".
 */
export async function createApiToken(
  db: Kysely<Database>,
  input: { accountId: string; name: string; tokenHash: string; role: ApiToken["role"]; createdBy: string; now: Instant; expiresAt: Instant | null },
): Promise<ApiToken> {
  const now = iso(input.now);
  const row: ApiToken = {
    id: randomUUID(),
    account_id: input.accountId,
    name: input.name,
    token_hash: input.tokenHash,
    role: input.role,
    created_by: input.createdBy,
    created_at: now,
    expires_at: input.expiresAt === null ? null : iso(input.expiresAt),
    revoked_at: null,
  };
  try {
    return await db.transaction().execute(async (trx) => {
      await trx
        .deleteFrom("api_tokens")
        .where("account_id", "=", input.accountId)
        .where("name", "=", input.name)
        .where((eb) => eb.or([eb("revoked_at", "is not", null), eb("expires_at", "<=", now)]))
        .execute();
      await trx.insertInto("api_tokens").values(row).execute();
      return row;
    });
  } catch (err) {
    if (constraintViolation(err) === "unique")
      throw new FernlinkError("conflict", `API token "${input.name}" already exists; revoke it first or pick another name`, { cause: err });
    throw err;
  }
}

/** The token behind a hash, unless revoked or expired at `now`, with its account and creator. */
export async function findActiveApiToken(db: Kysely<Database>, tokenHash: string, now: Instant): Promise<ActiveApiToken | undefined> {
  const token = await db
    .selectFrom("api_tokens")
    .selectAll()
    .where("token_hash", "=", tokenHash)
    .where("revoked_at", "is", null)
    .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", iso(now))]))
    .executeTakeFirst();
  if (!token) return undefined;
  const creator = await db.selectFrom("users").selectAll().where("id", "=", token.created_by).where("account_id", "=", token.account_id).executeTakeFirst();
  const account = await db.selectFrom("accounts").selectAll().where("id", "=", token.account_id).executeTakeFirst();
  return creator && account ? { token, account, creator } : undefined;
}

/** The tokens of an account that were not revoked, by name. */
export function listApiTokens(db: Kysely<Database>, accountId: string): Promise<ApiToken[]> {
  return db.selectFrom("api_tokens").selectAll().where("account_id", "=", accountId).where("revoked_at", "is", null).execute().then(byNaturalName);
}

/** Revokes the account's token called `name`; false when there is no such unrevoked token. */
export async function revokeApiToken(db: Kysely<Database>, accountId: string, name: string, now: Instant): Promise<boolean> {
  const result = await db
    .updateTable("api_tokens")
    .set({ revoked_at: iso(now) })
    .where("account_id", "=", accountId)
    .where("name", "=", name)
    .where("revoked_at", "is", null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Revokes every token a user made (when the user is removed); returns their names. */
export async function revokeApiTokensBy(db: Kysely<Database>, userId: string, now: Instant): Promise<string[]> {
  const rows = await db.selectFrom("api_tokens").select("name").where("created_by", "=", userId).where("revoked_at", "is", null).execute();
  await db
    .updateTable("api_tokens")
    .set({ revoked_at: iso(now) })
    .where("created_by", "=", userId)
    .where("revoked_at", "is", null)
    .execute();
  return rows.map((r) => r.name);
}

/** What decides whether an API token still holds: its expiry and revocation. */
export type ApiTokenState = Pick<ApiToken, "id" | "expires_at" | "revoked_at">;

/** The states of the tokens with these ids; a token not returned no longer exists. */
export async function apiTokenStates(db: Kysely<Database>, ids: readonly string[]): Promise<ApiTokenState[]> {
  const states: ApiTokenState[] = [];
  for (let i = 0; i < ids.length; i += ID_BATCH) {
    const batch = ids.slice(i, i + ID_BATCH);
    states.push(...(await db.selectFrom("api_tokens").select(["id", "expires_at", "revoked_at"]).where("id", "in", batch).execute()));
  }
  return states;
}

/** Ids per `in (…)` list, well below SQLite's and PostgreSQL's parameter limits. */
const ID_BATCH = 500;
