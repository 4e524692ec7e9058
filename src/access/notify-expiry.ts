import type { AccessContext } from "./context.js";
import { raiseEvent } from "./notify-raise.js";
import { ruleMatches } from "./notify-rules.js";
import { allRulesForEvent } from "./store/notifications.js";

/**
 * Finds the device certificates, current and not revoked, that end within a certificate.expiring
 * rule's lead time, and queues one notification per rule and certificate (the serial is the
 * event's key, so every node scanning finds the same and nothing twice).
 */
export async function scanExpiringCertificates(ctx: AccessContext): Promise<void> {
  const rules = await allRulesForEvent(ctx.db, "certificate.expiring");
  if (rules.length === 0) return;
  const now = ctx.now();
  const longest = Math.max(...rules.map((r) => r.delay_seconds));
  const certificates = await ctx.db
    .selectFrom("certificates")
    .innerJoin("devices", (join) => join.onRef("devices.id", "=", "certificates.device_id").onRef("devices.cert_serial", "=", "certificates.serial"))
    .select(["certificates.serial", "certificates.not_after", "devices.id as device_id", "devices.name as device_name", "devices.account_id"])
    .where("certificates.revoked_at", "is", null)
    .where("certificates.not_after", "<=", new Date(now.getTime() + longest * 1000).toISOString())
    .execute();
  for (const cert of certificates) {
    const event = {
      event: "certificate.expiring" as const,
      accountId: cert.account_id,
      deviceId: cert.device_id,
      deviceName: cert.device_name,
      at: now,
      key: `certificate:${cert.serial}`,
      summary: `the certificate of ${cert.device_name} ends at ${cert.not_after}: register the agent again with a new activation key`,
      details: { serial: cert.serial, notAfter: cert.not_after },
    };
    // Per rule: each has its own lead time.
    const left = Date.parse(cert.not_after) - now.getTime();
    const due = (r: { delay_seconds: number }) => left <= r.delay_seconds * 1000;
    if (rules.some((r) => r.account_id === cert.account_id && ruleMatches(r, event) && due(r))) await raiseEvent(ctx, event, due);
  }
}
