import type { WebTarget } from "./types.js";

/** Web targets seen on device pages, so the VNC viewer can name what it shows (by id). */
const seen = new Map<string, { device: string; target: WebTarget }>();

/** Remembers the targets of a device. */
export function rememberTargets(device: string, targets: readonly WebTarget[]): void {
  for (const target of targets) seen.set(target.id, { device, target });
}

/** The device and target of an id seen earlier in this page's life, if any. */
export function knownTarget(id: string): { device: string; target: WebTarget } | undefined {
  return seen.get(id);
}
