import type { SwitchState } from "./key-switch.js";

/**
 * What a device list adds to "online"/"offline" for the switch: an offline device switched off
 * says so, an online one at `online` says its streams are refused; otherwise nothing (a stale
 * `off` beside a tunnel that is up, or `remote`, tells nothing worth a word).
 */
export function switchNote(online: boolean, position: SwitchState | null): string | undefined {
  if (!online && position === "off") return "switched off";
  if (online && position === "online") return "remote access off";
  return undefined;
}
