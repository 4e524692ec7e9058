import type { AccountAdmins } from "../protocol/api.js";
import { byNaturalName } from "../shared/natural-order.js";
import { canView } from "./access-decision.js";
import type { Viewer } from "./access-model.js";
import { devicesAccess } from "./access-model.js";
import type { AccessContext, Principal } from "./context.js";
import { findAccountById } from "./store/accounts.js";
import { listDevices } from "./store/devices.js";
import { listUsers } from "./store/users.js";

/** Whom a user of the account asks for access: its admins, by name. */
export async function accountAdmins(ctx: AccessContext, who: Pick<Principal, "accountId"> & Partial<Pick<Principal, "accountName">>): Promise<AccountAdmins> {
  const users = await listUsers(ctx.db, who.accountId);
  const account = who.accountName ?? (await findAccountById(ctx.db, who.accountId))?.name ?? who.accountId;
  return { account, admins: byNaturalName(users.filter((u) => u.role === "admin")).map((u) => u.name) };
}

/** True when no access rule shows the member any device of the account (admins see every device). */
export async function seesNoDevice(ctx: AccessContext, who: Viewer): Promise<boolean> {
  if (who.role === "admin") return false;
  const devices = await listDevices(ctx.db, who.accountId);
  const access = await devicesAccess(ctx, who, devices);
  return !devices.some((d) => canView(access.get(d.id)!));
}
