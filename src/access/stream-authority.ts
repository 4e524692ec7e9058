import type { Requester, StreamAuthority, StreamRequest } from "../protocol/relay-access.js";
import { streamCacheOf } from "./access-changes.js";
import { deviceAccess } from "./access-model.js";
import { API_TOKEN_PREFIX, apiTokenEnded, apiTokenPrincipal } from "./api-tokens.js";
import type { AccessContext, Principal } from "./context.js";
import { publishRequester } from "./published-ports.js";
import { hashSecret } from "./secret-token.js";
import { notLoggedIn, sessionEnded, sessionPrincipal } from "./sessions.js";
import { findActiveApiToken } from "./store/api-tokens.js";
import { findDeviceByName } from "./store/devices.js";
import { findActiveSession } from "./store/sessions.js";
import { authorizeStream, type StreamLookup } from "./stream-access.js";
import { createStreamAudit } from "./stream-audit.js";
import type { Credential, StreamCache } from "./stream-cache.js";

/** True while a kept session or token is before its end; revocations drop it (access-changes.ts). */
function beforeEnd(credential: Credential, now: number): boolean {
  const end = credential.kind === "session" ? credential.found.session.expires_at : credential.found.token.expires_at;
  return end === null || Date.parse(end) > now;
}

/** `authenticate` of sessions.ts for streams, with the session or token kept in the cache; also whether its account requires a reason. */
async function authenticateCached(
  ctx: AccessContext,
  cache: StreamCache,
  token: string | undefined,
  source: string,
): Promise<{ principal: Principal; reasonRequired: boolean }> {
  if (!token) throw notLoggedIn();
  const hash = hashSecret(token);
  const isApiToken = token.startsWith(API_TOKEN_PREFIX);
  const load = async (): Promise<Credential | undefined> => {
    if (isApiToken) {
      const found = await findActiveApiToken(ctx.db, hash, ctx.now());
      return found && { kind: "token", found };
    }
    const found = await findActiveSession(ctx.db, hash, ctx.now());
    return found && { kind: "session", found };
  };
  // Unknown tokens are never kept: only tokens the store vouched for take room.
  const credential = await cache.credentials.through(hash, load, {
    accountOf: (c) => c.found.account.id,
    usable: (c) => beforeEnd(c, ctx.now().getTime()),
  });
  if (!credential) throw isApiToken ? apiTokenEnded() : sessionEnded();
  const principal = credential.kind === "token" ? apiTokenPrincipal(credential.found, source) : await sessionPrincipal(ctx, credential.found, source);
  return { principal, reasonRequired: credential.found.account.require_reason === 1 };
}

/** The device and access lookups of `authorizeStream`, kept in the cache; a missing device is not kept. */
function cachedLookup(ctx: AccessContext, cache: StreamCache): StreamLookup {
  return {
    device: (accountId, name) =>
      cache.devices.through(JSON.stringify([accountId, name]), () => findDeviceByName(ctx.db, accountId, name), { accountOf: () => accountId }),
    access: (who, device) =>
      cache.access.through(JSON.stringify([who.userId, who.role, device.id]), () => deviceAccess(ctx, who, device), { accountOf: () => who.accountId }),
  };
}

/**
 * The access service's side of every stream: who may open it, and its audit record. Both
 * checks answer from the stream cache when they can, so a stream costs no database round
 * trip; the cache is kept exact by the change notices of access-changes.ts.
 */
export function createStreamAuthority(ctx: AccessContext): StreamAuthority {
  const cache = streamCacheOf(ctx);
  const lookup = cachedLookup(ctx, cache);
  async function authenticateRequest(request: StreamRequest): Promise<Requester> {
    // A published port's listener opens its streams with the job owner's rights, not a token.
    if (request.job) return publishRequester(ctx, request.job);
    const { principal, reasonRequired } = await authenticateCached(ctx, cache, request.token, request.source);
    return {
      accountId: principal.accountId,
      userId: principal.userId,
      userName: principal.userName,
      role: principal.role,
      sessionId: principal.sessionId,
      ...(principal.tokenName !== undefined ? { tokenName: principal.tokenName } : {}),
      ...(reasonRequired ? { reasonRequired } : {}),
    };
  }
  return {
    authenticate: authenticateRequest,
    authorize: (who, request) => authorizeStream(ctx, who, request, lookup),
    record: createStreamAudit(ctx),
  };
}
