import type { RouteKit } from "./route-kit.js";

/** Group, pool and access rule routes. */
export function registerAccessRuleRoutes(kit: RouteKit): void {
  void kit;
}
