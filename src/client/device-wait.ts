import { DeviceInfo, ROUTES, routePath } from "../protocol/api.js";
import type { ApiClient } from "./api-client.js";

/** How often a waiting `connect` asks whether the device came online. */
export const WAIT_POLL_MS = 2_000;

/** Asks for the device until it is online; rejects when `signal` aborts. */
export async function waitUntilOnline(api: ApiClient, name: string, signal: AbortSignal, pollMs = WAIT_POLL_MS): Promise<DeviceInfo> {
  for (;;) {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(done, pollMs);
      function done(): void {
        signal.removeEventListener("abort", abort);
        resolve();
      }
      function abort(): void {
        clearTimeout(timer);
        reject(signal.reason);
      }
      if (signal.aborted) return abort();
      signal.addEventListener("abort", abort, { once: true });
    });
    const info = await api.call("GET", routePath(ROUTES.device, { name }), DeviceInfo);
    if (info.online) return info;
  }
}
