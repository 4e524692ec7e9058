import { randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import { FernlinkError } from "../../protocol/errors.js";
import { constraintViolation } from "./db-errors.js";
import type { Database, WebTarget } from "./schema.js";
import type { Instant } from "./time.js";
import { iso } from "./time.js";

/** Lower-case base32 (RFC 4648): 32 symbols, so each random byte's low 5 bits pick one evenly. */
const ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";
const ID_LENGTH = 12;

/** The form of every web target id: 12 characters [a-z2-7] (60 random bits), fit for a DNS label. */
export const WEB_TARGET_ID = /^[a-z2-7]{12}$/;

/** A fresh random web target id. */
export function newWebTargetId(): string {
  return [...randomBytes(ID_LENGTH)].map((b) => ID_ALPHABET[b & 31]).join("");
}

/** What a new web target is made of; `id` from newWebTargetId (the sealed secret is bound to it). */
export interface NewWebTarget {
  id: string;
  accountId: string;
  deviceId: string;
  name: string;
  kind: WebTarget["kind"];
  host: string;
  port: number;
  path: string | null;
  secret: string | null;
  now: Instant;
}

/** Stores a web target; "conflict" when the device already has one by that name. */
export async function createWebTarget(db: Kysely<Database>, input: NewWebTarget): Promise<WebTarget> {
  const target: WebTarget = {
    id: input.id,
    account_id: input.accountId,
    device_id: input.deviceId,
    name: input.name,
    kind: input.kind,
    host: input.host,
    port: input.port,
    path: input.path,
    secret: input.secret,
    created_at: iso(input.now),
  };
  try {
    await db.insertInto("web_targets").values(target).execute();
  } catch (err) {
    const violation = constraintViolation(err);
    if (violation === "unique") {
      throw new FernlinkError("conflict", `the device already has a web target "${input.name}"`, { cause: err });
    }
    if (violation === "foreign-key") throw new FernlinkError("not-found", "device not found", { cause: err });
    throw err;
  }
  return target;
}

/** The device's web targets, ordered by name. */
export function listWebTargets(db: Kysely<Database>, deviceId: string): Promise<WebTarget[]> {
  return db.selectFrom("web_targets").selectAll().where("device_id", "=", deviceId).orderBy("name").execute();
}

/** The device's web target called `name`, if any. */
export function findWebTargetByName(db: Kysely<Database>, deviceId: string, name: string): Promise<WebTarget | undefined> {
  return db.selectFrom("web_targets").selectAll().where("device_id", "=", deviceId).where("name", "=", name).executeTakeFirst();
}

/** The web target with this id and the name of its device, if any. */
export function getWebTarget(db: Kysely<Database>, id: string): Promise<(WebTarget & { device_name: string }) | undefined> {
  return db
    .selectFrom("web_targets")
    .innerJoin("devices", "devices.id", "web_targets.device_id")
    .selectAll("web_targets")
    .select("devices.name as device_name")
    .where("web_targets.id", "=", id)
    .executeTakeFirst();
}

/** Deletes a web target; false if it was absent. */
export async function removeWebTarget(db: Kysely<Database>, id: string): Promise<boolean> {
  const result = await db.deleteFrom("web_targets").where("id", "=", id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}
