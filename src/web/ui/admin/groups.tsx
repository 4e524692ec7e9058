import type { GroupInfo } from "../../../protocol/api-access.js";
import { API } from "../routes.js";
import { type CollectionKind, CollectionPage } from "./membership.js";

const GROUPS: CollectionKind<GroupInfo> = {
  title: "Groups",
  noun: "group",
  memberNoun: "member",
  listRoute: API.groups,
  itemRoute: API.group,
  changeRoute: API.groupMembers,
  candidatesRoute: API.users,
  members: (item) => item.members,
};

/** Groups of users: create, delete, add and remove members. */
export function GroupsPage() {
  return <CollectionPage kind={GROUPS} />;
}
