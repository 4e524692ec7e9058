import { FernlinkError } from "../protocol/errors.js";
import { noRuleHint } from "../protocol/no-rule-hint.js";
import type { Viewer } from "./access-model.js";
import { accountAdmins, seesNoDevice } from "./account-admins.js";
import type { AccessContext, Principal } from "./context.js";

/** The refusal for a device that is missing or that the caller may not see (the two read alike). */
export function noSuchDevice(name: string): FernlinkError {
  return new FernlinkError("not-found", `no such device "${name}"; see: fernlink device list`);
}

/**
 * The refusal for a member: when no rule shows them any device at all, it says so and whom
 * to ask, instead of a "see: fernlink device list" that would show them nothing. It reads
 * the same whether or not the device exists.
 */
export async function noSuchDeviceFor(ctx: AccessContext, who: Viewer & Partial<Pick<Principal, "accountName">>, name: string): Promise<FernlinkError> {
  if (!(await seesNoDevice(ctx, who))) return noSuchDevice(name);
  return new FernlinkError("not-found", `no such device "${name}": ${noRuleHint(await accountAdmins(ctx, who))}`);
}
