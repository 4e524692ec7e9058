import { z } from "zod";

/**
 * The machine owner's key switch on site: `off` (no connection to the service at all),
 * `online` (connected and visible, every stream refused) or `remote` (access as the rules allow).
 */
export const SwitchState = z.enum(["off", "online", "remote"]);
export type SwitchState = z.infer<typeof SwitchState>;

/** The one line a stream refused by the switch carries back to the client, the portal and the HMI. */
export const REMOTE_ACCESS_OFF_MESSAGE = "remote access is switched off on site";

/** The content of a switch file or a switch command's output: one word, case and surrounding whitespace ignored. */
export function parseSwitchText(text: string): SwitchState | undefined {
  const parsed = SwitchState.safeParse(text.trim().toLowerCase());
  return parsed.success ? parsed.data : undefined;
}

/** POST /api/v1/agent/switch — agent (mTLS) → access: the position of its key switch, sent when it changes. */
export const SwitchReport = z.strictObject({ state: SwitchState });
export type SwitchReport = z.infer<typeof SwitchReport>;

/** The reply: the state now recorded, and whether it differed from the one recorded before. */
export const SwitchReportAnswer = z.strictObject({ state: SwitchState, changed: z.boolean() });
export type SwitchReportAnswer = z.infer<typeof SwitchReportAnswer>;
