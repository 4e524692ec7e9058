import { FernlinkError } from "../protocol/errors.js";

/** An ISO time without milliseconds, as people read it: `2026-11-27T10:02:11Z`. */
export function isoSeconds(iso: string): string {
  return iso.replace(/\.\d{3}Z$/, "Z");
}

/** The one wording of "device is offline", with when it was last seen (and that its key switch is off, when known). */
export function deviceOfflineError(device: string, lastSeen: string | null, switchedOff = false): FernlinkError {
  const seen = lastSeen ? ` (last seen ${isoSeconds(lastSeen)})` : " (it has never connected)";
  return new FernlinkError("device-offline", `device "${device}" is offline${switchedOff ? ", switched off on site" : ""}${seen}`);
}
