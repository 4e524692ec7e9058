import type { RegisterRequest, RegisterResponse, RelayAssignment } from "../protocol/api.js";
import { FernlinkError } from "../protocol/errors.js";
import type { AgentIdentity } from "../protocol/relay-access.js";
import { ensureAccountEnabled } from "./account-state.js";
import { hashActivationKey } from "./activation-key.js";
import { audit } from "./audit-log.js";
import { signDeviceCsr } from "./ca.js";
import type { AccessContext } from "./context.js";
import { findAccountById } from "./store/accounts.js";
import { consumeActivationKey } from "./store/activation-keys.js";
import { findCertificate, recordCertificate, revokeDeviceCertificates } from "./store/certificates.js";
import { deviceLan, getDevice, setDeviceCertificate } from "./store/devices.js";

const KEY_ERRORS = {
  unknown: new FernlinkError(
    "activation-key-invalid",
    "the activation key is not valid; check it, or have an admin issue a new one with: fernlink device key NAME",
  ),
  used: new FernlinkError("activation-key-used", "the activation key was already used; have an admin issue a new one with: fernlink device key NAME"),
  expired: new FernlinkError("activation-key-expired", "the activation key has expired; have an admin issue a new one with: fernlink device key NAME"),
  replaced: new FernlinkError(
    "activation-key-replaced",
    "the activation key was replaced by a newer one (fernlink device key NAME cancels the earlier key); use the newest key",
  ),
} as const;

/**
 * Registers a device: consumes the one-time key, signs the CSR with the device id as the
 * identity, and revokes any earlier certificate of the device — all in one transaction,
 * so a bad CSR leaves the key unused.
 */
export async function registerDevice(ctx: AccessContext, input: RegisterRequest, source: string): Promise<RegisterResponse> {
  const now = ctx.now();
  const at = now.toISOString();
  const outcome = await ctx.db.transaction().execute(async (trx) => {
    const consumed = await consumeActivationKey(trx, hashActivationKey(input.activationKey), at);
    if (!consumed.ok) {
      // A used or expired key still names its device: the refusal goes to that account's audit.
      const owner = consumed.reason === "unknown" ? undefined : await getDevice(trx, consumed.deviceId);
      return { error: KEY_ERRORS[consumed.reason], owner } as const;
    }
    const device = await getDevice(trx, consumed.deviceId);
    if (!device) return { error: KEY_ERRORS.unknown, owner: undefined } as const;
    // Thrown, so the key stays unused: the device registers once its account is enabled again.
    const owner = await findAccountById(trx, device.account_id);
    if (owner) ensureAccountEnabled(owner);
    const signed = await signDeviceCsr(ctx.ca, { csrPem: input.csr, deviceId: device.id, accountId: device.account_id, deviceName: device.name, now });
    const revoked = await revokeDeviceCertificates(trx, device.id, at);
    await recordCertificate(trx, { serial: signed.serial, deviceId: device.id, issuedAt: at, notAfter: signed.notAfter.toISOString() });
    await setDeviceCertificate(trx, device.id, signed.serial);
    return { device, signed, revoked } as const;
  });
  if ("error" in outcome) {
    const { owner } = outcome;
    await audit(ctx, {
      accountId: owner?.account_id ?? null,
      actor: null,
      source,
      action: "device.register",
      object: owner?.name ?? null,
      result: "denied",
      reason: outcome.error.code,
      device: owner?.name ?? null,
    });
    throw outcome.error;
  }
  const { device, signed, revoked } = outcome;
  // A re-registered device's old tunnel must not outlive its certificate.
  if (revoked > 0) ctx.presence.disconnect(device.id);
  const account = await findAccountById(ctx.db, device.account_id);
  await audit(ctx, { accountId: device.account_id, actor: null, source, action: "device.register", object: device.name, result: "ok", device: device.name });
  return {
    deviceId: device.id,
    device: device.name,
    account: account?.name ?? "",
    certificate: signed.certPem,
    caCertificate: ctx.ca.certPem,
    lan: deviceLan(device),
  };
}

/** Checks a chain-verified agent certificate against the store: current, not revoked, device present. */
export async function authenticateAgent(ctx: AccessContext, peer: { serial: string; deviceId: string | undefined }): Promise<AgentIdentity> {
  const cert = await findCertificate(ctx.db, peer.serial);
  // "certificate-revoked" is the store's final word: the agent stops on it (a TLS-level refusal is retried).
  if (!cert || cert.revoked_at !== null) throw new FernlinkError("certificate-revoked", `certificate ${peer.serial} is unknown or revoked`);
  if (peer.deviceId !== undefined && peer.deviceId !== cert.device_id) {
    throw new FernlinkError("certificate-revoked", `certificate ${peer.serial} does not belong to device ${peer.deviceId}`);
  }
  const device = await getDevice(ctx.db, cert.device_id);
  if (!device || device.cert_serial !== cert.serial)
    throw new FernlinkError("certificate-revoked", `certificate ${peer.serial} is no longer the device's certificate`);
  // Not "certificate-revoked": the agent keeps retrying, so an enabled account's devices come back by themselves.
  const account = await findAccountById(ctx.db, device.account_id);
  if (account) ensureAccountEnabled(account);
  return { deviceId: device.id, accountId: device.account_id, deviceName: device.name, certSerial: cert.serial };
}

/** Answers an agent's "which relay?" for its next connection: every relay that takes agents, best first. */
export async function relayAssignment(
  ctx: AccessContext,
  identity: AgentIdentity,
  requestHost: string | undefined,
  region: string | undefined,
): Promise<RelayAssignment> {
  const device = await getDevice(ctx.db, identity.deviceId);
  if (!device) throw new FernlinkError("certificate-revoked", "the device was removed");
  const relays = ctx.assignRelay(device.id, requestHost, region).slice(0, 64);
  const first = relays[0];
  if (!first) throw new FernlinkError("device-offline", "no relay takes agents right now; the agent tries again");
  return { relay: first, relays, lan: deviceLan(device) };
}
