import { audit } from "../access/audit-log.js";
import type { AccessContext } from "../access/context.js";
import { deviceWentDown, raiseInBackground } from "../access/notify-raise.js";
import { getDevice, markDeviceGone } from "../access/store/devices.js";
import { type ClaimedTunnel, claimStaleTunnels } from "../access/store/live-tunnels.js";
import { errorMessage } from "../protocol/errors.js";
import type { RelayNames } from "./presence-tracker.js";
import type { TunnelBoard } from "./tunnel-board.js";

/** Options of `takeOverDeadTunnels`. */
export interface DeadTunnelOptions {
  /** The relays this node answers for: their rows are its own to renew, never to take. */
  board: TunnelBoard;
  names: RelayNames;
  /** A row not renewed for this long belongs to a node or relay that died. */
  staleMs: number;
}

/**
 * Does for the tunnels of a node or relay that died without a word (SIGKILL, power, network)
 * what its own presence tracker would have done at each tunnel's end: claims their stale
 * `live_tunnels` rows (each goes to one node only), and for every device not back anywhere
 * records its last sighting, audits `tunnel.down` once, tells the change feed and raises the
 * offline event for the rules. A device back on any relay has a fresh row in place of the stale
 * one (one row per device), so it is never claimed. Returns how many devices it marked offline.
 */
export async function takeOverDeadTunnels(ctx: AccessContext, options: DeadTunnelOptions): Promise<number> {
  const { board } = options;
  const claimed = await claimStaleTunnels(ctx.db, new Date(ctx.now().getTime() - options.staleMs), board.relayIds());
  let marked = 0;
  for (const row of claimed) {
    try {
      if (await markOffline(ctx, options, row)) marked++;
    } catch (err) {
      // The row is claimed already: one device's failure must not drop the others'.
      ctx.log.error("cannot mark a device of a dead relay offline", { device: row.deviceId, error: errorMessage(err) });
    }
  }
  return marked;
}

async function markOffline(ctx: AccessContext, options: DeadTunnelOptions, row: ClaimedTunnel): Promise<boolean> {
  // Came back here between the row going stale and the claim: our own put writes its row again.
  if (options.board.find(row.deviceId)) return false;
  const device = await getDevice(ctx.db, row.deviceId);
  if (!device) return false;
  const relay = options.names(row.relayId);
  const at = new Date(row.heartbeatAt);
  // False when the device's row already names another relay: it came back there first.
  if (!(await markDeviceGone(ctx.db, device.id, { at, relay }))) return false;
  const accountId = device.account_id;
  ctx.changes.publish({ kind: "devices", accountId, deviceId: device.id, device: device.name, online: false });
  await audit(ctx, {
    accountId,
    actor: null,
    source: row.address,
    action: "tunnel.down",
    object: device.name,
    result: "ok",
    reason: `relay "${relay}" stopped renewing the tunnel; last renewed ${row.heartbeatAt}`,
    device: device.name,
  });
  raiseInBackground(ctx, () => deviceWentDown(ctx, { accountId, deviceId: device.id, deviceName: device.name, at }));
  return true;
}
