import type { GroupInfo } from "../protocol/api-access.js";
import { namedSetOperations } from "./named-sets.js";
import { GROUP_TABLES } from "./store/groups.js";
import { findUserByName } from "./store/users.js";

/** Groups: named sets of the account's users, for admins only. */
export const {
  byName: groupByName,
  list: listAccountGroups,
  show: showGroup,
  add: addGroup,
  remove: removeAccountGroup,
  changeMembers: changeGroupMembers,
} = namedSetOperations<GroupInfo>({
  memberNoun: "user",
  tables: GROUP_TABLES,
  actions: { list: "group.list", show: "group.show", add: "group.add", remove: "group.remove", members: "group.members" },
  findMember: findUserByName,
  info: (group, members) => ({ name: group.name, members, createdAt: group.created_at }),
});
