import type { Command } from "commander";
import { z } from "zod";
import { apiClient } from "../../client/api-client.js";
import { OtpEnableResponse, USER_ROUTES } from "../../protocol/api-users.js";
import { UsageError } from "../../protocol/errors.js";

const Ok = z.object({ ok: z.boolean() });

/** `fernlink otp enable|disable`: two-factor login with an authenticator app (TOTP). */
export function registerOtpCommands(program: Command): void {
  const otp = program.command("otp").description("one-time codes (TOTP) for two-factor login");

  otp
    .command("enable")
    .description("turn on one-time codes; prints the otpauth:// URI and the secret for your authenticator app")
    .action(async () => {
      const api = await apiClient();
      const reply = await api.call("POST", USER_ROUTES.otpEnable, OtpEnableResponse);
      process.stdout.write(`${reply.uri}\nsecret: ${reply.secret}\n`);
      process.stderr.write(
        "Add the URI (or the secret) to your authenticator app now: it is not shown again.\n" + "From now on log in with: fernlink login … --otp CODE\n",
      );
    });

  otp
    .command("disable")
    .description("turn off one-time codes; needs a current code")
    .requiredOption("--otp <code>", "a current one-time code")
    .action(async (flags: { otp: string }) => {
      if (!/^\d{6}$/.test(flags.otp)) throw new UsageError(`--otp "${flags.otp}" is not a one-time code; give the 6 digits your authenticator app shows`);
      const api = await apiClient();
      await api.call("POST", USER_ROUTES.otpDisable, Ok, { code: flags.otp });
      process.stdout.write("one-time codes are off\n");
    });
}
