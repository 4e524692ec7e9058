import { CheckInRequest, ON_DEMAND_ROUTES } from "../../protocol/api-on-demand.js";
import { checkIn, wakeDevice } from "../on-demand.js";
import { body, type RouteKit, requestingAgent } from "./route-kit.js";

/** Check-ins of on-demand agents, and users asking for such a device. */
export function registerOnDemandRoutes({ app, ctx, auth }: RouteKit): void {
  app.post(ON_DEMAND_ROUTES.checkIn, async (c) => {
    const identity = await requestingAgent(ctx, c);
    return c.json(await checkIn(ctx, identity, (await body(c, CheckInRequest)).every));
  });
  app.post(ON_DEMAND_ROUTES.deviceWake, auth, async (c) => c.json(await wakeDevice(ctx, c.get("principal"), c.req.param("name"))));
}
