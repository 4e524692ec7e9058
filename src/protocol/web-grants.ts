/** Whose session a grant stands for, and for which web target. */
export interface GrantSubject {
  sessionToken: string;
  targetId: string;
  /** The connect reason given when the HMI was opened, for every stream its pages open. */
  reason?: string;
}

/** A launch code's subject and the path the HMI opens on, fixed by the server (never taken from the URL). */
export interface LaunchSubject extends GrantSubject {
  path: string;
}

/** How long a launch code from the portal may take to reach the HMI host. */
export const LAUNCH_CODE_TTL_MS = 60_000;
/** A grant lives at most as long as a session can (the session itself is checked on every request). */
export const GRANT_TTL_MS = 24 * 3600_000;
/** Bound on codes, and on grants, held in all, so signed-in users cannot fill the store by clicking. */
export const MAX_GRANTS = 20_000;
/** Bound per session, so one session clicking in a loop pushes out only its own. */
export const MAX_PER_SESSION = 200;

/**
 * The hand-over from the portal to an HMI host. The portal's cookie never leaves the portal's
 * host, so opening an HMI goes: portal issues a one-time launch code → the browser brings it
 * to the HMI host → the HMI host trades it for a grant kept in its own cookie. Both stand
 * for the user's session, which stays the one thing that is checked and can be ended. Codes
 * and grants live in the store, so the HMI host may be served by another access node than
 * the portal page that issued the code.
 */
export interface WebGrants {
  /** A single-use code that lets the browser open `targetId` with `sessionToken`'s rights. */
  issueLaunchCode(subject: LaunchSubject): Promise<string>;
  /** Trades a launch code for a grant token and the path to open, once, on the target host it was issued for. */
  redeem(code: string, targetId: string): Promise<{ grant: string; path: string } | undefined>;
  /** Who a grant token stands for on `targetId`, while it lasts. */
  lookup(grant: string, targetId: string): Promise<GrantSubject | undefined>;
  /** True while `grant` lasts. */
  holds(grant: string): Promise<boolean>;
  /** Forgets a grant. */
  revoke(grant: string): Promise<void>;
  /** Forgets every code and grant of a session (it ended). */
  endSession(sessionToken: string): Promise<void>;
}
