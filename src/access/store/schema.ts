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
}

export interface AccountsTable {
  id: string;
  name: string;
  created_at: string;
}

export interface UsersTable {
  id: string;
  account_id: string;
  name: string;
  password_hash: string;
  role: "admin" | "member";
  created_at: string;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  token_hash: string;
  created_at: string;
  expires_at: string;
  last_used_at: string;
  revoked_at: string | null;
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
  /** Insertion order (auto-increment); the order records are listed and later chained in. */
  seq: Generated<number>;
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
}

export type Account = Selectable<AccountsTable>;
export type User = Selectable<UsersTable>;
export type Session = Selectable<SessionsTable>;
export type Device = Selectable<DevicesTable>;
export type ActivationKey = Selectable<ActivationKeysTable>;
export type Certificate = Selectable<CertificatesTable>;
export type AuditRow = Selectable<AuditTable>;
export type NewAuditRow = Insertable<AuditTable>;
