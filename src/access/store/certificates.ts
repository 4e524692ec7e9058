import type { Kysely } from "kysely";
import type { Certificate, Database } from "./schema.js";
import type { Instant } from "./time.js";
import { iso } from "./time.js";

/** Records an issued device certificate by serial. */
export async function recordCertificate(
  db: Kysely<Database>,
  input: { serial: string; deviceId: string; issuedAt: Instant; notAfter: Instant },
): Promise<Certificate> {
  const certificate: Certificate = {
    serial: input.serial,
    device_id: input.deviceId,
    issued_at: iso(input.issuedAt),
    not_after: iso(input.notAfter),
    revoked_at: null,
  };
  await db.insertInto("certificates").values(certificate).execute();
  return certificate;
}

/** Revokes every unrevoked certificate of the device at `at`; returns how many were revoked. */
export async function revokeDeviceCertificates(db: Kysely<Database>, deviceId: string, at: Instant): Promise<number> {
  const result = await db
    .updateTable("certificates")
    .set({ revoked_at: iso(at) })
    .where("device_id", "=", deviceId)
    .where("revoked_at", "is", null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** The certificate with this serial, revoked or not, if it was ever recorded. */
export function findCertificate(db: Kysely<Database>, serial: string): Promise<Certificate | undefined> {
  return db.selectFrom("certificates").selectAll().where("serial", "=", serial).executeTakeFirst();
}
