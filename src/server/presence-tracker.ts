import { audit } from "../access/audit-log.js";
import type { AccessContext, Presence } from "../access/context.js";
import { deviceCameUp, deviceWentDown, raiseInBackground } from "../access/notify-raise.js";
import { markDeviceSeen } from "../access/store/devices.js";
import type { Relay } from "../relay/relay.js";
import type { HeldTunnel, TunnelBoard } from "./tunnel-board.js";

/** How often the last-seen time of connected devices is written, so a crash loses little. */
const SEEN_INTERVAL_MS = 60_000;

/** A relay's name for people, from its id. */
export type RelayNames = (relayId: string) => string;

/**
 * Presence as this node sees it, from memory: the tunnels of the relays it answers for (its
 * embedded relay and the relays linked to it), and the streams its relay carries (the users'
 * ends of every stream opened through this node, wherever the device is).
 */
export function relayPresence(board: TunnelBoard, relay: Relay, names: RelayNames): Presence {
  const streamsOf = (accountId?: string): ReturnType<Relay["streams"]> =>
    relay.streams().filter((s) => accountId === undefined || s.grant.accountId === accountId);
  return {
    status(deviceId) {
      const placed = board.find(deviceId);
      return placed ? { relayId: placed.relayId, relay: names(placed.relayId), address: placed.tunnel.address, since: placed.tunnel.connectedAt } : undefined;
    },
    disconnect: (deviceId) => board.disconnect(deviceId),
    streams: streamsOf,
    cutStream: (streamId) => void relay.cutStream(streamId),
    tunnels: (accountId) =>
      board
        .list()
        .filter(({ tunnel }) => tunnel.identity.accountId === accountId)
        .map(({ tunnel, relayId }) => ({
          deviceId: tunnel.identity.deviceId,
          deviceName: tunnel.identity.deviceName,
          address: tunnel.address,
          since: tunnel.connectedAt,
          relay: names(relayId),
        })),
    relays: (accountId) => {
      const streams = streamsOf(accountId);
      return board.relayIds().map((relayId) => ({
        id: names(relayId),
        tunnels: board.list().filter((p) => p.relayId === relayId && p.tunnel.identity.accountId === accountId).length,
        streams: streams.filter((s) => board.find(s.grant.deviceId)?.relayId === relayId).length,
      }));
    },
  };
}

/**
 * Writes tunnel ups and downs of the relays this node answers for to the device rows and the
 * audit log, tells the change feed, and raises the devices' notification events. Tunnels this
 * node closes while it shuts down (`closing`) raise none: a stopped server is no device outage,
 * and the agents are back on another node or after the restart. Returns a stop function.
 */
export function trackPresence(ctx: AccessContext, board: TunnelBoard, names: RelayNames, closing: () => boolean = () => false): () => void {
  const seen = (tunnel: HeldTunnel, relayId: string): void => {
    void ctx.work.track(
      markDeviceSeen(ctx.db, tunnel.identity.deviceId, { at: ctx.now().toISOString(), address: tunnel.address, relayId: names(relayId) }).catch(
        (err: unknown) => ctx.log.error("cannot record last seen", { error: String(err) }),
      ),
    );
  };
  const event = (tunnel: HeldTunnel, relayId: string, action: "tunnel.up" | "tunnel.down"): void => {
    seen(tunnel, relayId);
    const { accountId, deviceId, deviceName } = tunnel.identity;
    ctx.changes.publish({ kind: "devices", accountId, deviceId, device: deviceName, online: action === "tunnel.up" });
    void audit(ctx, { accountId, actor: null, source: tunnel.address, action, object: deviceName, result: "ok", device: deviceName });
    const sighting = { accountId, deviceId, deviceName, at: ctx.now() };
    if (closing()) return;
    raiseInBackground(ctx, () => (action === "tunnel.up" ? deviceCameUp(ctx, sighting) : deviceWentDown(ctx, sighting)));
  };
  const online = (t: HeldTunnel, relayId: string): void => event(t, relayId, "tunnel.up");
  const offline = (t: HeldTunnel, relayId: string): void => event(t, relayId, "tunnel.down");
  board.on("online", online);
  board.on("offline", offline);
  const timer = setInterval(() => {
    for (const p of board.list()) seen(p.tunnel, p.relayId);
  }, SEEN_INTERVAL_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    board.off("online", online);
    board.off("offline", offline);
  };
}
