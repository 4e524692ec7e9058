import { call, setCsrfToken } from "./api.js";
import { API } from "./routes.js";
import type { PortalSession, PortalSessionState } from "./types.js";

/** What a restricted session must do first, or null for a full session. */
export type Restriction = "password-expired" | "password-change-required" | "otp-enrollment-required";

/** The restriction of a session body. */
export function restrictionOf(session: PortalSession): Restriction | null {
  return session.restriction ?? null;
}

/** GET /api/v1/session/state: the current session, or null when there is none (a 200 either way, so no 401 in the console). */
export async function currentSession(): Promise<PortalSession | null> {
  const state = await call<PortalSessionState>(API.sessionState, { sessionRequired: false });
  setCsrfToken(state.signedIn ? state.session.csrf : null);
  return state.signedIn ? state.session : null;
}

/** POST /api/v1/session: signs in; the server sets the cookie and answers with the session. */
export async function signIn(input: { account: string; user: string; password: string; otp?: string }): Promise<PortalSession> {
  const session = await call<PortalSession>(API.session, { method: "POST", body: input, sessionRequired: false });
  setCsrfToken(session.csrf);
  return session;
}

/** DELETE /api/v1/session: signs out; the cookie is cleared whatever the answer. */
export async function signOut(): Promise<void> {
  try {
    await call<unknown>(API.session, { method: "DELETE", sessionRequired: false });
  } finally {
    setCsrfToken(null);
  }
}
