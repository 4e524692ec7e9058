/**
 * Every action the audit records. Writers name one of these, so a new kind of record is added
 * here first and a misspelt one does not compile; stored records keep plain text (`AuditRow`).
 */
export type AuditAction =
  // sign-in and the session
  | "account.init"
  | "login"
  | "logout"
  | "passwd"
  | "otp.enable"
  | "otp.disable"
  | "login-throttle.clear"
  // account administration
  | "account.policy"
  | "user.add"
  | "user.list"
  | "user.remove"
  | "user.lock"
  | "user.unlock"
  | "token.add"
  | "token.list"
  | "token.revoke"
  // devices, their agents and the relays
  | "device.add"
  | "device.show"
  | "device.remove"
  | "device.activation-key"
  | "device.register"
  | "relay.register"
  | "tunnel.up"
  | "tunnel.down"
  // who may reach what
  | "group.add"
  | "group.list"
  | "group.show"
  | "group.members"
  | "group.remove"
  | "pool.add"
  | "pool.list"
  | "pool.show"
  | "pool.devices"
  | "pool.remove"
  | "access.grant"
  | "access.list"
  | "access.revoke"
  // streams and the portal's web targets
  | "stream.open"
  | "stream"
  | "stream.close"
  | "web-target.add"
  | "web-target.list"
  | "web-target.remove"
  // published ports (forward jobs)
  | "publish.add"
  | "publish.list"
  | "publish.pause"
  | "publish.resume"
  | "publish.remove"
  | "publish.log"
  | "publish.agent"
  | "publish.agent-switch"
  // reading the audit and the live state
  | "audit.list"
  | "audit.verify"
  | "report.connections"
  | "live.streams"
  | "live.tunnels"
  | "status";
