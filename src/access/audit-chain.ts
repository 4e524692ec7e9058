/**
 * The audit hash chain. Every record stores `prev_hash` (the hash of the record before it in
 * its chain) and `hash` = HMAC-SHA256(key, prev_hash ‖ canonical encoding of every field).
 * There is one chain per account and a "system" chain for records without one, each numbered
 * 1, 2, 3 … on its own; `audit_heads` holds each chain's newest seq, hash and record count.
 *
 * The key lives in the data directory (`audit-key`), not in the database, so whoever can write
 * the database but cannot read the key cannot produce a record that verifies: an altered,
 * inserted, deleted or reordered record breaks the chain. The limit: deleting the newest records
 * *and* rewriting the head row to the last record left is consistent, and only shows against a
 * head kept elsewhere (`fernlink audit verify` prints it; `--expect-head` checks one).
 */

import type { KeyObject } from "node:crypto";
import { createHmac, timingSafeEqual } from "node:crypto";

/** `prev_hash` of the first record of every chain. */
export const GENESIS_HASH = "0".repeat(64);

/** The chain of records that belong to no account (failed logins to unknown accounts, …). */
export const SYSTEM_CHAIN = "system";

/** Tags of the canonical encodings; a new encoding gets a new tag. */
const ENCODING_V1 = "fernlink-audit-v1";
const ENCODING_V2 = "fernlink-audit-v2";
const ENCODING_V3 = "fernlink-audit-v3";

/** The fields a record's hash covers, in the order they are encoded. */
export interface ChainedFields {
  seq: number;
  id: string;
  at: string;
  account_id: string | null;
  actor: string | null;
  source: string | null;
  action: string;
  object: string | null;
  result: string;
  reason: string | null;
  device: string | null;
  target: string | null;
  started_at: string | null;
  ended_at: string | null;
  bytes_up: number | null;
  bytes_down: number | null;
  /** How many refusals an aggregated record stands for; absent or null for one event. */
  count?: number | null;
  /** Set on records hashed before per-account numbering: the database-wide seq their hash covers. */
  legacy_seq?: number | null;
  /** The name of the API token the action was taken with; absent or null for none. */
  token?: string | null;
}

/** The last record of a chain, as `audit_heads` keeps it. */
export interface ChainHead {
  seq: number;
  hash: string;
  count: number;
}

/** The chain a record of `accountId` belongs to. */
export function chainOf(accountId: string | null): string {
  return accountId ?? SYSTEM_CHAIN;
}

/**
 * The canonical encoding: a JSON array with every field in a fixed order and explicit nulls,
 * so no two different records encode alike and both databases give the same bytes.
 *
 * v3 is a record that names an API token: v2's fields, then the token's name. v2 (a record
 * without a token, written with per-account numbering) covers the record's seq in its chain and
 * its count; records without a token keep it, so every hash written before tokens were recorded
 * still verifies, and adding, changing or removing a token changes the encoding. v1 is kept for
 * records written before per-account numbering: it covers the database-wide seq they had then
 * (`legacy_seq`), so their hashes stay as written and still verify.
 */
export function canonicalEncoding(f: ChainedFields): string {
  const common = [
    f.id,
    f.at,
    f.account_id,
    f.actor,
    f.source,
    f.action,
    f.object,
    f.result,
    f.reason,
    f.device,
    f.target,
    f.started_at,
    f.ended_at,
    f.bytes_up,
    f.bytes_down,
  ];
  const token = f.token ?? null;
  // v1 records were written before tokens and counts were recorded: one set on such a record
  // was added since, and is encoded so that it cannot match.
  if (f.legacy_seq != null) {
    const added = token === null && f.count == null ? [] : [f.count ?? null, token];
    return JSON.stringify([ENCODING_V1, f.legacy_seq, ...common, ...added]);
  }
  if (token === null) return JSON.stringify([ENCODING_V2, f.seq, ...common, f.count ?? null]);
  return JSON.stringify([ENCODING_V3, f.seq, ...common, f.count ?? null, token]);
}

/** HMAC-SHA256(key, prevHash ‖ canonical encoding), lowercase hex. */
export function recordHash(key: KeyObject, prevHash: string, fields: ChainedFields): string {
  return createHmac("sha256", key).update(prevHash, "utf8").update(canonicalEncoding(fields), "utf8").digest("hex");
}

/** True when the stored `hash` is the one `key` gives for the stored `prevHash` and fields. */
export function hashMatches(key: KeyObject, prevHash: string | null, hash: string | null, fields: ChainedFields): boolean {
  if (prevHash === null || hash === null || !/^[0-9a-f]{64}$/.test(hash)) return false;
  return timingSafeEqual(Buffer.from(recordHash(key, prevHash, fields), "hex"), Buffer.from(hash, "hex"));
}
