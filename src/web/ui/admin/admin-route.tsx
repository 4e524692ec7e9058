import type { ComponentType } from "preact";
import { AdminOnly } from "../components.js";
import { ADMIN_PAGES, type AdminPage } from "../router.js";
import type { PortalSession } from "../types.js";
import { AccessRulesPage } from "./access-rules.js";
import { AuditPage } from "./audit.js";
import { ConnectionsPage } from "./connections.js";
import { GroupsPage } from "./groups.js";
import { LivePage } from "./live.js";
import { ManageDevicesPage } from "./manage-devices.js";
import { NotificationsPage } from "./notifications.js";
import { PolicyPage } from "./policy.js";
import { PoolsPage } from "./pools.js";
import { StatusPage } from "./status.js";
import { UsersPage } from "./users.js";
import { WebTargetsPage } from "./web-targets.js";

const PAGES: Record<AdminPage, ComponentType> = {
  users: UsersPage,
  groups: GroupsPage,
  pools: PoolsPage,
  access: AccessRulesPage,
  devices: ManageDevicesPage,
  web: WebTargetsPage,
  policy: PolicyPage,
  notifications: NotificationsPage,
  audit: AuditPage,
  connections: ConnectionsPage,
  live: LivePage,
  status: StatusPage,
};

/** An admin page, or the notice members get instead (the server refuses their calls anyway). */
export function AdminRoute({ page, session }: { page: AdminPage; session: PortalSession }) {
  if (session.role !== "admin") return <AdminOnly title={ADMIN_PAGES[page]} />;
  const Page = PAGES[page];
  return <Page key={page} />;
}
