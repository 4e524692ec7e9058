import { FernlinkError } from "../protocol/errors.js";
import type { AuditAction } from "./audit-actions.js";
import { auditBy } from "./audit-log.js";
import type { AccessContext, Principal } from "./context.js";

/**
 * Lets only account admins through; a member's attempt is refused with "forbidden" and
 * recorded, so the audit shows who tried what.
 */
export async function ensureAdmin(ctx: AccessContext, who: Principal, action: AuditAction, object: string): Promise<void> {
  if (who.role === "admin") return;
  await auditBy(ctx, who, action, object, "denied", "forbidden: only an account admin may do this");
  throw new FernlinkError("forbidden", `only an account admin may do "${action}" (you are a member); ask an admin of your account`);
}
