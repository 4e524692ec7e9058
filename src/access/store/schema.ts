import type { Generated, Insertable, Selectable } from "kysely";

/**
 * The tables, as Kysely sees them. Ids are random UUID text and times are ISO-8601 UTC text
 * (`Date.toISOString()`), so the same queries and migrations run on SQLite and PostgreSQL.
 */
export interface Database {
  accounts: AccountsTable;
  users: UsersTable;
  sessions: SessionsTable;
  devices: DevicesTable;
  activation_keys: ActivationKeysTable;
  certificates: CertificatesTable;
  audit: AuditTable;
  audit_heads: AuditHeadsTable;
  password_history: PasswordHistoryTable;
  login_failures: LoginFailuresTable;
  groups: GroupsTable;
  group_members: GroupMembersTable;
  pools: PoolsTable;
  pool_devices: PoolDevicesTable;
  access_rules: AccessRulesTable;
  api_tokens: ApiTokensTable;
  web_targets: WebTargetsTable;
  cluster_keys: ClusterKeysTable;
  web_grants: WebGrantsTable;
  live_tunnels: LiveTunnelsTable;
  relays: RelaysTable;
  live_streams: LiveStreamsTable;
  published_ports: PublishedPortsTable;
  device_check_ins: DeviceCheckInsTable;
  notify_channels: NotifyChannelsTable;
  notify_rules: NotifyRulesTable;
  notifications: NotificationsTable;
  operator_tokens: OperatorTokensTable;
}

/** A token of the service operator for `/api/v1/operator/…`; the token itself only as its hash. */
export interface OperatorTokensTable {
  id: string;
  name: string;
  /** SHA-256 of the token. */
  token_hash: string;
  /** Who made it: the operator's login on the host. */
  created_by: string;
  created_at: string;
  revoked_at: string | null;
}

/** Where notifications go: an e-mail address over an SMTP server, a webhook URL, or a phone number through an SMS gateway. */
export interface NotifyChannelsTable {
  id: string;
  account_id: string;
  name: string;
  kind: "email" | "webhook" | "sms";
  /** The e-mail address, the webhook URL, or the phone number. */
  target: string;
  /** JSON of the kind's settings without secrets (SMTP URL without password, sender, CA). */
  config: string;
  /** Sealed (secret-box.ts, context `notify-channel:<id>`): SMTP password, webhook HMAC secret, or the SMS URL template. */
  secret: string | null;
  created_at: string;
}

/** Which event, on which device (null: all), after how long, goes to which channel. */
export interface NotifyRulesTable {
  id: string;
  account_id: string;
  event: string;
  channel_id: string;
  device_id: string | null;
  /** device.offline: how long offline first; certificate.expiring: how long before the end; else 0. */
  delay_seconds: number;
  /** alarm: the lowest severity that counts; null: all. */
  min_severity: string | null;
  created_at: string;
}

/** One notification of one rule for one event: queued, being sent by one node, or done. */
export interface NotificationsTable {
  id: string;
  account_id: string;
  rule_id: string;
  channel_id: string;
  event: string;
  /** The event's identity: a second sighting of it (another node, a retry) adds no row. */
  event_key: string;
  device_id: string | null;
  device_name: string | null;
  subject: string;
  /** JSON of the event as the webhook sends it. */
  body: string;
  state: "queued" | "sending" | "sent" | "failed" | "cancelled";
  attempts: number;
  due_at: string;
  /** While sending: when another node may take the row over (the sender died). */
  claimed_until: string | null;
  last_error: string | null;
  created_at: string;
  done_at: string | null;
}

/** A notification channel row. */
export type NotifyChannel = Selectable<NotifyChannelsTable>;
/** A notification rule row. */
export type NotifyRule = Selectable<NotifyRulesTable>;
/** A queued or delivered notification row. */
export type NotificationRow = Selectable<NotificationsTable>;

/** An on-demand device's last check-in, and until when someone wants its tunnel up. */
export interface DeviceCheckInsTable {
  device_id: string;
  interval_seconds: number;
  checked_in_at: string;
  wanted_until: string | null;
}

/** A published port (forward job): connections to `port` on the relay's host go to the target in the device's LAN. */
export interface PublishedPortsTable {
  id: string;
  account_id: string;
  device_id: string;
  /** Whose rights each connection is opened with. */
  owner_id: string;
  name: string;
  port: number;
  target_host: string;
  target_port: number;
  /** "udp": datagrams, one stream per source address and port; "tcp": connections. */
  protocol: "tcp" | "udp";
  /** Space-separated canonical CIDRs a connection may come from; empty: any source. */
  allow_from: string;
  state: "active" | "paused";
  /** 1: the bytes each way are kept (size-capped, in memory) for admins to download. */
  log_data: number;
  origin: "service" | "agent";
  created_at: string;
}

/** A stream some node of the cluster carries, as of its last heartbeat. */
export interface LiveStreamsTable {
  stream_id: string;
  node_id: string;
  account_id: string;
  user_id: string;
  user_name: string;
  device_id: string;
  device_name: string;
  target: string;
  source: string;
  started_at: string;
  bytes_up: number | string;
  bytes_down: number | string;
  heartbeat_at: string;
}

/** A relay: registered with `fernlink relay add` (kind "relay"), or a running node's embedded one (kind "node"). */
export interface RelaysTable {
  id: string;
  name: string;
  kind: "relay" | "node";
  region: string | null;
  /** Where agents and access nodes reach it: https://HOST:PORT. */
  url: string | null;
  /** The one-time relay key, hashed; null once used. */
  key_hash: string | null;
  key_expires_at: string | null;
  /** The relay certificate's serial; null until the relay registered. */
  cert_serial: string | null;
  draining_at: string | null;
  created_at: string;
  /** Renewed by the node holding the relay's link; old: offline. */
  heartbeat_at: string | null;
  devices: number;
  streams: number;
  bytes_up: number | string;
  bytes_down: number | string;
}

/** A device tunnel held by a relay of the cluster right now, as long as `heartbeat_at` is recent. */
export interface LiveTunnelsTable {
  device_id: string;
  relay_id: string;
  /** The agent's address as the relay sees it. */
  address: string;
  since: string;
  heartbeat_at: string;
}

/** A key shared by every node of a cluster, sealed with the cluster key (PostgreSQL only). */
export interface ClusterKeysTable {
  /** What the key is: "check", "ca-cert", "ca-key", "audit-key", "secret-key". */
  name: string;
  /** `v1:` and base64url of IV, tag and ciphertext (see secret-box.ts), bound to `name`. */
  sealed: string;
  /** `host:path` of the cluster key file the sealing node wrote. */
  key_file: string;
  created_at: string;
}

export interface AccountsTable {
  id: string;
  name: string;
  created_at: string;
  min_password_length: Generated<number>;
  /** Days a password stays valid; null: no expiry. */
  max_password_age_days: number | null;
  /** How many earlier passwords may not be reused. */
  password_history: Generated<number>;
  /** Failed logins within 15 minutes that lock a user for 30 minutes. */
  lockout_after: Generated<number>;
  /** 1 when every user must log in with a one-time code. */
  require_otp: Generated<number>;
  /** 1 when every stream and portal session needs a connect reason. */
  require_reason: Generated<number>;
  /** When an operator disabled the account; null while it is enabled. */
  disabled_at: string | null;
}

export interface UsersTable {
  id: string;
  account_id: string;
  name: string;
  password_hash: string;
  role: "admin" | "member";
  created_at: string;
  password_changed_at: string | null;
  locked_until: string | null;
  /** Base32 TOTP secret; set at enrolment, used once `totp_enabled` is 1. */
  totp_secret: string | null;
  totp_enabled: Generated<number>;
  /** Time step of the last accepted code: a code is accepted once. */
  totp_last_step: number | null;
  /** Set while an admin holds the user locked: no login, no session, no API token of theirs works. */
  admin_locked_at: string | null;
  /** 1 after an admin reset the password: the user's sessions may only change it. */
  must_change_password: Generated<number>;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  token_hash: string;
  created_at: string;
  expires_at: string;
  last_used_at: string;
  revoked_at: string | null;
  /** The address the login came from; null for sessions older than migration 0018. */
  source: string | null;
  /** Whether the command line or the portal signed in; null for sessions older than migration 0018. */
  kind: "cli" | "portal" | null;
}

export interface DevicesTable {
  id: string;
  account_id: string;
  name: string;
  /** JSON array of CIDR strings. */
  lan: string;
  created_at: string;
  last_seen: string | null;
  last_address: string | null;
  relay_id: string | null;
  /** Serial of the one certificate currently valid for this device. */
  cert_serial: string | null;
  /** The admin who let the device's agent ask for its own published ports (their rights apply); null: not allowed. */
  agent_publish_by: string | null;
  /** Its key switch as the agent last reported it: off, online or remote (null: never reported). */
  switch_state: string | null;
  /** When that report changed it. */
  switch_at: string | null;
  /** Space-separated `host:port` targets whose streams are recorded; null: none. */
  recorded_targets: string | null;
}

export interface ActivationKeysTable {
  id: string;
  device_id: string;
  key_hash: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

export interface CertificatesTable {
  serial: string;
  device_id: string;
  issued_at: string;
  not_after: string;
  revoked_at: string | null;
}

export interface AuditTable {
  /** Position in its chain: 1, 2, 3 … per account (and for the "system" chain); the order records are listed in. */
  seq: number;
  id: string;
  at: string;
  account_id: string | null;
  actor: string | null;
  source: string | null;
  action: string;
  object: string | null;
  result: "ok" | "denied" | "error";
  reason: string | null;
  device: string | null;
  target: string | null;
  ended_at: string | null;
  bytes_up: number | null;
  bytes_down: number | null;
  /** For streams: when it opened (`at` is when the record was written, at its end). */
  started_at: string | null;
  prev_hash: string | null;
  hash: string | null;
  /** How many refusals an aggregated record stands for; null for a record of one event. */
  count: number | null;
  /**
   * The database-wide seq a record written before per-account numbering had; its hash covers
   * that number. Null for every record written since.
   */
  legacy_seq: number | null;
  /** The name of the API token the action was taken with (never the token); null for a session or the server. */
  token: string | null;
}

/** Last record of each audit chain (one chain per account, "system" for the rest). */
export interface AuditHeadsTable {
  chain: string;
  seq: number;
  hash: string;
  count: number;
}

export interface PasswordHistoryTable {
  id: string;
  user_id: string;
  password_hash: string;
  created_at: string;
}

export interface LoginFailuresTable {
  id: string;
  account_name: string;
  user_name: string;
  source: string;
  at: string;
  /** 1 while the attempt's password check runs; 0 once it failed. */
  pending: Generated<number>;
}

export interface GroupsTable {
  id: string;
  account_id: string;
  name: string;
  created_at: string;
}

export interface GroupMembersTable {
  group_id: string;
  user_id: string;
}

export interface PoolsTable {
  id: string;
  account_id: string;
  name: string;
  created_at: string;
}

export interface PoolDevicesTable {
  pool_id: string;
  device_id: string;
}

export interface AccessRulesTable {
  id: string;
  account_id: string;
  group_id: string;
  pool_id: string;
  level: "view" | "connect";
  /** JSON array of "host[:port,…]" filters; null: the devices' LAN ranges. */
  targets: string | null;
  created_at: string;
}

export interface ApiTokensTable {
  id: string;
  account_id: string;
  name: string;
  token_hash: string;
  role: "admin" | "member";
  created_by: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

/** An HMI page or VNC panel in a device's LAN, published to the portal. */
export interface WebTargetsTable {
  /** 12 characters [a-z2-7]; also the DNS label `w-<id>` the HMI is served under. */
  id: string;
  account_id: string;
  device_id: string;
  name: string;
  kind: "http" | "https" | "vnc";
  host: string;
  port: number;
  /** Page to open first (path, query, fragment); null for VNC. */
  path: string | null;
  /** VNC password sealed with the secret box; null when there is none. */
  secret: string | null;
  created_at: string;
}

export type Account = Selectable<AccountsTable>;
export type User = Selectable<UsersTable>;
export type Session = Selectable<SessionsTable>;
export type Device = Selectable<DevicesTable>;
export type ActivationKey = Selectable<ActivationKeysTable>;
export type Certificate = Selectable<CertificatesTable>;
export type AuditRow = Selectable<AuditTable>;
export type NewAuditRow = Insertable<AuditTable>;
export type Group = Selectable<GroupsTable>;
export type Pool = Selectable<PoolsTable>;
export type AccessRule = Selectable<AccessRulesTable>;
export type ApiToken = Selectable<ApiTokensTable>;
export type WebTarget = Selectable<WebTargetsTable>;
export type PublishedPort = Selectable<PublishedPortsTable>;

/** A portal launch code or HMI grant; the code or grant itself only as its hash. */
export interface WebGrantsTable {
  /** Insertion order: the oldest of a session, or of all, go first when a cap is reached. */
  seq: Generated<number>;
  /** SHA-256 of the code or grant. */
  token_hash: string;
  kind: WebGrantKind;
  /** SHA-256 of the session token (the session's `token_hash`). */
  session_hash: string;
  /** The session token, sealed with the secret key for this row's `token_hash`. */
  session_token: string;
  target_id: string;
  /** The page a launch code opens; null for grants. */
  path: string | null;
  /** The connect reason given when the HMI was opened; null: none. */
  reason: string | null;
  created_at: string;
  expires_at: string;
}

/** A single-use launch code from the portal, or the grant an HMI host traded it for. */
export type WebGrantKind = "launch" | "grant";
