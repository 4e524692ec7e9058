import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { FernlinkError } from "../../protocol/errors.js";
import { constraintViolation } from "./db-errors.js";
import type { Database, PublishedPort } from "./schema.js";
import type { Instant } from "./time.js";
import { iso } from "./time.js";

/** A published port with the names its listings and listener need. */
export type PublishedPortRow = PublishedPort & { device_name: string; owner_name: string };

/** What a new published port is made of. */
export interface NewPublishedPort {
  accountId: string;
  deviceId: string;
  ownerId: string;
  name: string;
  port: number;
  targetHost: string;
  targetPort: number;
  protocol: PublishedPort["protocol"];
  allowFrom: readonly string[];
  logData: boolean;
  origin: PublishedPort["origin"];
  now: Instant;
}

/** Stores a published port, active; "conflict" when the name is taken in the account or the port anywhere. */
export async function createPublishedPort(db: Kysely<Database>, input: NewPublishedPort): Promise<PublishedPort> {
  const row: PublishedPort = {
    id: randomUUID(),
    account_id: input.accountId,
    device_id: input.deviceId,
    owner_id: input.ownerId,
    name: input.name,
    port: input.port,
    target_host: input.targetHost,
    target_port: input.targetPort,
    protocol: input.protocol,
    allow_from: input.allowFrom.join(" "),
    state: "active",
    log_data: input.logData ? 1 : 0,
    origin: input.origin,
    created_at: iso(input.now),
  };
  try {
    await db.insertInto("published_ports").values(row).execute();
  } catch (err) {
    const violation = constraintViolation(err);
    if (violation === "unique") throw new FernlinkError("conflict", `port ${input.port} or the name "${input.name}" is already published`, { cause: err });
    if (violation === "foreign-key") throw new FernlinkError("not-found", "device or user not found", { cause: err });
    throw err;
  }
  return row;
}

function withNames(db: Kysely<Database>) {
  return db
    .selectFrom("published_ports")
    .innerJoin("devices", "devices.id", "published_ports.device_id")
    .innerJoin("users", "users.id", "published_ports.owner_id")
    .selectAll("published_ports")
    .select(["devices.name as device_name", "users.name as owner_name"]);
}

/** The account's published ports, by port. */
export function listPublishedPorts(db: Kysely<Database>, accountId: string): Promise<PublishedPortRow[]> {
  return withNames(db).where("published_ports.account_id", "=", accountId).orderBy("published_ports.port").execute();
}

/** Every account's active published ports, for the listeners a node opens at start. */
export function listActivePublishedPorts(db: Kysely<Database>): Promise<PublishedPortRow[]> {
  return withNames(db).where("published_ports.state", "=", "active").orderBy("published_ports.port").execute();
}

/** The account's published port called `name`, if any. */
export function findPublishedPort(db: Kysely<Database>, accountId: string, name: string): Promise<PublishedPortRow | undefined> {
  return withNames(db).where("published_ports.account_id", "=", accountId).where("published_ports.name", "=", name).executeTakeFirst();
}

/** The published port with this id, if any. */
export function getPublishedPort(db: Kysely<Database>, id: string): Promise<PublishedPortRow | undefined> {
  return withNames(db).where("published_ports.id", "=", id).executeTakeFirst();
}

/** The published port on `port`, in any account. */
export function publishedPortOn(db: Kysely<Database>, port: number): Promise<PublishedPort | undefined> {
  return db.selectFrom("published_ports").selectAll().where("port", "=", port).executeTakeFirst();
}

/** Sets a published port active or paused; false if it was absent. */
export async function setPublishedPortState(db: Kysely<Database>, id: string, state: PublishedPort["state"]): Promise<boolean> {
  const result = await db.updateTable("published_ports").set({ state }).where("id", "=", id).executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Deletes a published port; false if it was absent. */
export async function removePublishedPort(db: Kysely<Database>, id: string): Promise<boolean> {
  const result = await db.deleteFrom("published_ports").where("id", "=", id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}
