import { DeviceAddRequest, ROUTES, type WhoAmI } from "../../protocol/api.js";
import { accountAdmins } from "../account-admins.js";
import { deviceReach } from "../device-reach.js";
import { addDevice, listAccountDevices, newDeviceKey, removeAccountDevice, showDevice } from "../devices.js";
import { cutStreamsOfToken } from "../live-streams.js";
import { logout } from "../sessions.js";
import { adminOnly, body, type RouteKit } from "./route-kit.js";

/** Session and device routes. */
export function registerCoreRoutes({ app, ctx, auth }: RouteKit): void {
  app.get(ROUTES.whoami, auth, (c) => {
    const p = c.get("principal");
    const who: WhoAmI = { account: p.accountName, user: p.userName, role: p.role, expiresAt: p.expiresAt, ...(p.tokenName ? { token: p.tokenName } : {}) };
    return c.json(who);
  });
  app.get(ROUTES.accountAdmins, auth, async (c) => c.json(await accountAdmins(ctx, c.get("principal"))));
  app.post(ROUTES.logout, auth, async (c) => {
    await logout(ctx, c.get("principal"));
    // The session's `fernlink connect` streams end with it.
    cutStreamsOfToken(ctx, c.get("principal").accountId, c.get("token") ?? "");
    return c.json({ ok: true });
  });
  app.get(ROUTES.devices, auth, async (c) => c.json(await listAccountDevices(ctx, c.get("principal"))));
  app.post(ROUTES.devices, auth, adminOnly(ctx, "device.add", "devices"), async (c) =>
    c.json(await addDevice(ctx, c.get("principal"), await body(c, DeviceAddRequest)), 201),
  );
  app.get(ROUTES.device, auth, async (c) => c.json(await showDevice(ctx, c.get("principal"), c.req.param("name"))));
  app.delete(ROUTES.device, auth, adminOnly(ctx, "device.remove"), async (c) => {
    await removeAccountDevice(ctx, c.get("principal"), c.req.param("name"));
    return c.json({ ok: true });
  });
  app.get(ROUTES.deviceAccess, auth, async (c) => c.json(await deviceReach(ctx, c.get("principal"), c.req.param("name"))));
  app.post(ROUTES.deviceKey, auth, adminOnly(ctx, "device.activation-key"), async (c) =>
    c.json(await newDeviceKey(ctx, c.get("principal"), c.req.param("name"))),
  );
}
