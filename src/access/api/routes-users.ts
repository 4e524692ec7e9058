import type { RouteKit } from "./route-kit.js";

/** User, password, one-time-code, policy and API token routes. */
export function registerUserRoutes(kit: RouteKit): void {
  void kit;
}
