import { ROUTES } from "../../protocol/api.js";
import { RecordSwitch } from "../../protocol/api-recordings.js";
import { getRecording, listRecordings, setRecordedTarget } from "../recordings.js";
import { adminOnly, body, type RouteKit } from "./route-kit.js";

/** Recorded targets and recordings: admins only (checked before the body is read), changes and retrievals audited. */
export function registerRecordingRoutes({ app, ctx, auth }: RouteKit): void {
  app.post(ROUTES.deviceRecord, auth, adminOnly(ctx, "device.record"), async (c) => {
    const { target, on } = await body(c, RecordSwitch);
    return c.json(await setRecordedTarget(ctx, c.get("principal"), c.req.param("name"), target, on));
  });
  app.get(ROUTES.recordings, auth, adminOnly(ctx, "recording.list", "recordings"), async (c) => c.json(await listRecordings(ctx, c.get("principal"))));
  app.get(ROUTES.recording, auth, adminOnly(ctx, "recording.get"), async (c) => {
    const id = c.req.param("id");
    return c.json({ id, text: await getRecording(ctx, c.get("principal"), id) });
  });
}
