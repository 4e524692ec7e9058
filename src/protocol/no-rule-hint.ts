import type { AccountAdmins } from "./api.js";

/** The sentence that tells a member without any rule why they see nothing, and whom to ask. */
export function noRuleHint(admins: AccountAdmins): string {
  const whom = admins.admins.length > 0 ? `one of its admins (${admins.admins.join(", ")})` : "an admin of the account";
  return `no access rule grants you a device of account "${admins.account}"; ask ${whom} to add you to a group that a rule grants a pool of devices`;
}
