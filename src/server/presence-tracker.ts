import type { AccessContext, Presence } from "../access/context.js";
import { audit } from "../access/audit-log.js";
import { markDeviceSeen } from "../access/store/devices.js";
import type { Relay } from "../relay/relay.js";
import type { AgentTunnel } from "../relay/agent-tunnel.js";

/** How often the last-seen time of connected devices is written, so a crash loses little. */
const SEEN_INTERVAL_MS = 60_000;

/** Presence as the access service sees it, answered by the in-process relay. */
export function relayPresence(relay: Relay): Presence {
  return {
    status(deviceId) {
      const tunnel = relay.registry.get(deviceId);
      return tunnel ? { relayId: relay.id, address: tunnel.address, since: tunnel.connectedAt } : undefined;
    },
    disconnect(deviceId) {
      relay.registry.disconnect(deviceId);
    },
    streams: (accountId) => relay.streams().filter((s) => accountId === undefined || s.grant.accountId === accountId),
    cutStream: (streamId) => void relay.cutStream(streamId),
    tunnels: (accountId) =>
      relay.registry
        .list()
        .filter((t) => t.identity.accountId === accountId)
        .map((t) => ({ deviceId: t.identity.deviceId, deviceName: t.identity.deviceName, address: t.address, since: t.connectedAt, relayId: relay.id })),
    relays: (accountId) => [
      {
        id: relay.id,
        tunnels: relay.registry.list().filter((t) => t.identity.accountId === accountId).length,
        streams: relay.streams().filter((s) => s.grant.accountId === accountId).length,
      },
    ],
  };
}

/**
 * Writes tunnel ups and downs to the device rows and the audit log, and tells the change
 * feed. Returns a stop function.
 */
export function trackPresence(ctx: AccessContext, relay: Relay): () => void {
  const seen = (tunnel: AgentTunnel): void => {
    void ctx.work.track(
      markDeviceSeen(ctx.db, tunnel.identity.deviceId, { at: ctx.now().toISOString(), address: tunnel.address, relayId: relay.id }).catch(
        (err: unknown) => ctx.log.error("cannot record last seen", { error: String(err) }),
      ),
    );
  };
  const event = (tunnel: AgentTunnel, action: string): void => {
    seen(tunnel);
    const { accountId, deviceId, deviceName } = tunnel.identity;
    ctx.changes.publish({ kind: "devices", accountId, deviceId, device: deviceName, online: action === "tunnel.up" });
    void audit(ctx, {
      accountId: tunnel.identity.accountId,
      actor: null,
      source: tunnel.address,
      action,
      object: tunnel.identity.deviceName,
      result: "ok",
      device: tunnel.identity.deviceName,
    });
  };
  const online = (t: AgentTunnel): void => event(t, "tunnel.up");
  const offline = (t: AgentTunnel): void => event(t, "tunnel.down");
  relay.registry.on("online", online);
  relay.registry.on("offline", offline);
  const timer = setInterval(() => relay.registry.list().forEach(seen), SEEN_INTERVAL_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    relay.registry.off("online", online);
    relay.registry.off("offline", offline);
  };
}
