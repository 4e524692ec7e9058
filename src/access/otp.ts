import type { OtpDisableRequest, OtpEnableResponse } from "../protocol/api-users.js";
import { FernlinkError } from "../protocol/errors.js";
import { accessChanged } from "./access-changes.js";
import { auditBy } from "./audit-log.js";
import type { AccessContext, Principal } from "./context.js";
import { cancelAttempt, reserveAttempt, settleFailure } from "./login-guard.js";
import { policyOf } from "./password-policy.js";
import { consumeTotpStep, setTotp } from "./store/users.js";
import { checkTotp, newTotpSecret, totpUri } from "./totp.js";
import { openTotpSecret, sealTotpSecret } from "./totp-secrets.js";
import { auditRefusals, callerAccount, callerUser } from "./users.js";

/**
 * Turns on one-time codes for the caller: a new secret, shown once. From then on every login
 * of the user needs a current code.
 */
export async function enableOtp(ctx: AccessContext, who: Principal): Promise<OtpEnableResponse> {
  const reply = await auditRefusals(ctx, who, "otp.enable", who.userName, async () => {
    const user = await callerUser(ctx, who, "enrol one-time codes");
    const account = await callerAccount(ctx, who);
    if (user.totp_enabled === 1) {
      throw new FernlinkError("conflict", "one-time codes are already on; for a new secret run fernlink otp disable --code CODE first");
    }
    const secret = newTotpSecret();
    await setTotp(ctx.db, user.id, sealTotpSecret(ctx.secretKey, user.id, secret));
    return { secret, uri: totpUri(secret, `${user.name}@${account.name}`) };
  });
  // Lifts the restriction of a session the account policy asked to enrol.
  await accessChanged(ctx, who.accountId);
  await auditBy(ctx, who, "otp.enable", who.userName);
  return reply;
}

/** Turns one-time codes off for the caller; needs a current code, and the policy must allow it. */
export async function disableOtp(ctx: AccessContext, who: Principal, input: OtpDisableRequest): Promise<void> {
  await auditRefusals(ctx, who, "otp.disable", who.userName, async () => {
    const user = await callerUser(ctx, who, "turn one-time codes off");
    const account = await callerAccount(ctx, who);
    if (user.totp_enabled !== 1 || user.totp_secret === null) throw new FernlinkError("conflict", "one-time codes are not on for you");
    if (policyOf(account).requireOtp) {
      throw new FernlinkError("forbidden", "the account policy requires one-time codes; an admin must run fernlink account policy --no-require-otp first");
    }
    const now = ctx.now();
    // Counted before the check, so concurrent guesses of the code cannot pass the lock.
    const reservation = await reserveAttempt(ctx, { accountName: account.name, userName: user.name, source: who.source, now });
    if (reservation.blocked !== undefined) {
      await cancelAttempt(ctx, reservation);
      throw new FernlinkError("forbidden", `user "${user.name}" is locked after failed logins; an admin can unlock it`);
    }
    const check = checkTotp(openTotpSecret(ctx.secretKey, user.id, user.totp_secret), input.code, now, user.totp_last_step);
    if (!check.ok || !(await consumeTotpStep(ctx.db, user.id, check.step))) {
      await settleFailure(ctx, reservation);
      const why = !check.ok && check.reason === "wrong" ? "is wrong" : "was used already";
      throw new FernlinkError("otp-invalid", `the one-time code ${why}; wait for the next code of your authenticator app`);
    }
    await cancelAttempt(ctx, reservation);
    await setTotp(ctx.db, user.id, null);
  });
  await accessChanged(ctx, who.accountId);
  await auditBy(ctx, who, "otp.disable", who.userName);
}
