import { randomBytes } from "node:crypto";

/** Whose session a grant stands for, and for which web target. */
export interface GrantSubject {
  sessionToken: string;
  targetId: string;
}

/** A launch code's subject and the path the HMI opens on, fixed by the server (never taken from the URL). */
export interface LaunchSubject extends GrantSubject {
  path: string;
}

/** How long a launch code from the portal may take to reach the HMI host. */
export const LAUNCH_CODE_TTL_MS = 60_000;
/** A grant lives at most as long as a session can (the session itself is checked on every request). */
export const GRANT_TTL_MS = 24 * 3600_000;
/** Bound on codes and grants held, so a signed-in user cannot fill memory by clicking. */
const MAX_ENTRIES = 20_000;
/** Bound per session, so one session clicking in a loop pushes out only its own. */
export const MAX_PER_SESSION = 200;

interface Entry extends GrantSubject {
  expiresAt: number;
  path?: string;
}

/**
 * The hand-over from the portal to an HMI host. The portal's cookie never leaves the portal's
 * host, so opening an HMI goes: portal issues a one-time launch code → the browser brings it
 * to the HMI host → the HMI host trades it for a grant kept in its own cookie. Both stand
 * for the user's session, which stays the one thing that is checked and can be ended.
 */
export class WebGrants {
  private readonly codes = new Map<string, Entry>();
  private readonly grants = new Map<string, Entry>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A single-use code that lets the browser open `targetId` with `sessionToken`'s rights. */
  issueLaunchCode(subject: LaunchSubject): string {
    return this.put(this.codes, subject, LAUNCH_CODE_TTL_MS);
  }

  /** Trades a launch code for a grant token and the path to open, once, on the target host it was issued for. */
  redeem(code: string, targetId: string): { grant: string; path: string } | undefined {
    const entry = this.take(this.codes, code);
    this.codes.delete(code);
    if (!entry || entry.targetId !== targetId) return undefined;
    return { grant: this.put(this.grants, { sessionToken: entry.sessionToken, targetId: entry.targetId }, GRANT_TTL_MS), path: entry.path ?? "/" };
  }

  /** Who a grant token stands for on `targetId`, while it lasts. */
  lookup(grant: string, targetId: string): GrantSubject | undefined {
    const entry = this.take(this.grants, grant);
    return entry && entry.targetId === targetId ? { sessionToken: entry.sessionToken, targetId: entry.targetId } : undefined;
  }

  /** True while `grant` lasts. */
  holds(grant: string): boolean {
    return this.take(this.grants, grant) !== undefined;
  }

  /** Forgets a grant (its session ended). */
  revoke(grant: string): void {
    this.grants.delete(grant);
  }

  private take(map: Map<string, Entry>, key: string): Entry | undefined {
    const entry = map.get(key);
    if (entry && entry.expiresAt <= this.now()) {
      map.delete(key);
      return undefined;
    }
    return entry;
  }

  private put(map: Map<string, Entry>, subject: GrantSubject & { path?: string }, ttlMs: number): string {
    const now = this.now();
    const own = [...map].filter(([, entry]) => entry.sessionToken === subject.sessionToken);
    // The session's oldest go first (a Map iterates in insertion order).
    for (const [key] of own.slice(0, Math.max(0, own.length - MAX_PER_SESSION + 1))) map.delete(key);
    if (map.size >= MAX_ENTRIES) {
      for (const [key, entry] of map) if (entry.expiresAt <= now) map.delete(key);
      // Still full: the oldest go first (a Map iterates in insertion order).
      for (const key of map.keys()) {
        if (map.size < MAX_ENTRIES) break;
        map.delete(key);
      }
    }
    const token = randomBytes(24).toString("base64url");
    map.set(token, { ...subject, expiresAt: now + ttlMs });
    return token;
  }
}
