import type { TokenAddRequest, TokenAddResponse, TokenInfo } from "../protocol/api-users.js";
import { FernlinkError } from "../protocol/errors.js";
import { accessChanged } from "./access-changes.js";
import { ensureAccountEnabled } from "./account-state.js";
import { auditBy } from "./audit-log.js";
import type { AccessContext, Principal } from "./context.js";
import { ensureAdmin } from "./roles.js";
import { hashSecret, randomSecret } from "./secret-token.js";
import { cutStreamsOfEndedSessionsEverywhere } from "./session-streams.js";
import { type ActiveApiToken, createApiToken, findActiveApiToken, listApiTokens, revokeApiToken } from "./store/api-tokens.js";
import type { ApiToken } from "./store/schema.js";
import { listUsers } from "./store/users.js";
import { auditRefusals, ensureSignedIn } from "./users.js";

/** Every API token starts with this, so a bearer token tells which kind it is. */
export const API_TOKEN_PREFIX = "flk_";

const DAY_MS = 24 * 60 * 60 * 1000;

function tokenInfo(token: ApiToken, creatorName: string, now: Date): TokenInfo {
  return {
    name: token.name,
    role: token.role,
    createdBy: creatorName,
    createdAt: token.created_at,
    expiresAt: token.expires_at,
    expired: token.expires_at !== null && Date.parse(token.expires_at) <= now.getTime(),
  };
}

/**
 * Makes an API token for automation, bound to the caller's account, with a role and an
 * optional expiry. The token is in the reply only; the store keeps its hash. Only a signed-in
 * admin makes tokens: a token cannot, so none outlives or outranks the one that would make it.
 */
export async function addApiToken(ctx: AccessContext, who: Principal, input: TokenAddRequest): Promise<TokenAddResponse> {
  await ensureAdmin(ctx, who, "token.add", input.name);
  const now = ctx.now();
  const expiresAt = input.expiresDays === undefined ? null : new Date(now.getTime() + input.expiresDays * DAY_MS);
  const token = `${API_TOKEN_PREFIX}${randomSecret(32)}`;
  const row = await auditRefusals(ctx, who, "token.add", input.name, () => {
    ensureSignedIn(who, "make API tokens", `fernlink token add ${input.name}`);
    return createApiToken(ctx.db, {
      accountId: who.accountId,
      name: input.name,
      tokenHash: hashSecret(token),
      role: input.role,
      createdBy: who.userId,
      now,
      expiresAt,
    });
  });
  await auditBy(ctx, who, "token.add", input.name, "ok", `role ${input.role}, expires ${row.expires_at ?? "never"}`);
  return { token, info: tokenInfo(row, who.userName, now) };
}

/** The API tokens of the caller's account (never the tokens themselves). */
export async function listAccountApiTokens(ctx: AccessContext, who: Principal): Promise<TokenInfo[]> {
  await ensureAdmin(ctx, who, "token.list", "tokens");
  const names = new Map((await listUsers(ctx.db, who.accountId)).map((u) => [u.id, u.name]));
  const now = ctx.now();
  return (await listApiTokens(ctx.db, who.accountId)).map((t) => tokenInfo(t, names.get(t.created_by) ?? "(removed user)", now));
}

/** Revokes an API token of the caller's account by name. */
export async function revokeAccountApiToken(ctx: AccessContext, who: Principal, name: string): Promise<void> {
  await ensureAdmin(ctx, who, "token.revoke", name);
  await auditRefusals(ctx, who, "token.revoke", name, async () => {
    if (!(await revokeApiToken(ctx.db, who.accountId, name, ctx.now()))) {
      throw new FernlinkError("not-found", `no such API token "${name}"; see: fernlink token list`);
    }
  });
  await accessChanged(ctx, who.accountId);
  await cutStreamsOfEndedSessionsEverywhere(ctx, who.accountId);
  await auditBy(ctx, who, "token.revoke", name);
}

/**
 * The principal of an API token: its account, and the user who made it with the token's role,
 * capped by that user's role now, so a token never has more rights than its maker.
 */
export async function authenticateApiToken(ctx: AccessContext, token: string, source: string): Promise<Principal> {
  const found = await findActiveApiToken(ctx.db, hashSecret(token), ctx.now());
  if (!found) throw apiTokenEnded();
  return apiTokenPrincipal(found, source);
}

/** The refusal of an API token that is unknown, expired or revoked. */
export function apiTokenEnded(): FernlinkError {
  return new FernlinkError("unauthenticated", "the API token is unknown, expired or revoked; an admin makes a new one with: fernlink token add NAME");
}

/** The principal of a usable API token, as the store found it or the stream cache kept it. */
export function apiTokenPrincipal(found: ActiveApiToken, source: string): Principal {
  const { token: row, account, creator } = found;
  ensureAccountEnabled(account);
  if (creator.admin_locked_at !== null) {
    throw new FernlinkError(
      "user-locked",
      `API token "${row.name}" belongs to user "${creator.name}", who is locked by an admin; an admin unlocks: fernlink user unlock ${creator.name}`,
    );
  }
  return {
    accountId: account.id,
    accountName: account.name,
    userId: creator.id,
    userName: creator.name,
    role: row.role === "admin" && creator.role === "admin" ? "admin" : "member",
    sessionId: `token:${row.id}`,
    expiresAt: row.expires_at,
    source,
    tokenName: row.name,
  };
}
