import type { Requester, StreamAuthority, StreamRequest } from "../protocol/relay-access.js";
import type { AccessContext } from "./context.js";
import { authenticate } from "./sessions.js";
import { authorizeStream } from "./stream-access.js";
import { createStreamAudit } from "./stream-audit.js";

/** The access service's side of every stream: who may open it, and its audit record. */
export function createStreamAuthority(ctx: AccessContext): StreamAuthority {
  async function authenticateRequest(request: StreamRequest): Promise<Requester> {
    const principal = await authenticate(ctx, request.token, request.source);
    return {
      accountId: principal.accountId,
      userId: principal.userId,
      userName: principal.userName,
      role: principal.role,
      sessionId: principal.sessionId,
      ...(principal.tokenName !== undefined ? { tokenName: principal.tokenName } : {}),
    };
  }
  return {
    authenticate: authenticateRequest,
    authorize: (who, request) => authorizeStream(ctx, who, request),
    record: createStreamAudit(ctx),
  };
}
