import type { SwitchReportAnswer, SwitchState } from "../protocol/key-switch.js";
import type { AgentIdentity } from "../protocol/relay-access.js";
import { audit } from "./audit-log.js";
import type { AccessContext } from "./context.js";
import { raiseEvent, raiseInBackground } from "./notify-raise.js";
import { getDevice, setDeviceSwitch } from "./store/devices.js";

/**
 * Records the key switch an agent reports (the agent enforces it; this is only what lists and
 * the audit show). A change is stored, audited as `device.switch` with the old and new position,
 * and announced to the portal. The first report of a device that never had a switch, `remote`,
 * is stored without an audit record: that is how every device behaved before.
 */
export async function recordSwitch(ctx: AccessContext, agent: AgentIdentity, state: SwitchState, source: string): Promise<SwitchReportAnswer> {
  const device = await getDevice(ctx.db, agent.deviceId);
  const before = device?.switch_state ?? null;
  if (!device || before === state) return { state, changed: false };
  await setDeviceSwitch(ctx.db, device.id, { state, at: ctx.now() });
  if (before !== null || state !== "remote") {
    await audit(ctx, {
      accountId: agent.accountId,
      actor: null,
      source,
      action: "device.switch",
      object: agent.deviceName,
      result: "ok",
      reason: `key switch ${before ?? "unknown"} -> ${state}`,
      device: agent.deviceName,
    });
    const at = ctx.now();
    raiseInBackground(ctx, () =>
      raiseEvent(ctx, {
        event: "device.switch",
        accountId: agent.accountId,
        deviceId: agent.deviceId,
        deviceName: agent.deviceName,
        at,
        key: `switch:${agent.deviceId}:${at.toISOString()}`,
        summary: `the key switch of ${agent.deviceName} turned ${before ?? "unknown"} -> ${state}`,
        details: { from: before, to: state },
      }),
    );
  }
  ctx.changes.publish({
    kind: "devices",
    accountId: agent.accountId,
    deviceId: agent.deviceId,
    device: agent.deviceName,
    online: ctx.presence.status(agent.deviceId) !== undefined,
  });
  return { state, changed: true };
}
