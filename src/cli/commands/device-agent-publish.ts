import type { Command } from "commander";
import { z } from "zod";
import { apiClient } from "../../client/api-client.js";
import { NameSchema, ROUTES, routePath } from "../../protocol/api.js";
import { UsageError } from "../../protocol/errors.js";

const Ok = z.object({ ok: z.boolean() });

/** `fernlink device agent-publish DEVICE allow|deny`: whether the device's agent may ask for its own published ports (admins). */
export function registerDeviceAgentPublishCommand(device: Command): void {
  device
    .command("agent-publish <device> <allow|deny>")
    .description("let the device's agent publish ports (agent run --publish), with your rights, or stop it (admin; default: deny)")
    .action(async (name: string, choice: string) => {
      if (!NameSchema.safeParse(name).success) throw new UsageError(`device name "${name}" is not valid`);
      if (choice !== "allow" && choice !== "deny") throw new UsageError(`"${choice}" is neither allow nor deny`);
      const api = await apiClient();
      await api.call("POST", routePath(ROUTES.deviceAgentPublish, { name }), Ok, { allowed: choice === "allow" });
      process.stdout.write(
        choice === "allow"
          ? `the agent of "${name}" may now publish ports (with your rights); existing jobs stay until it asks again or you remove them\n`
          : `the agent of "${name}" may no longer publish ports; remove its jobs with: fernlink publish remove NAME\n`,
      );
    });
}
