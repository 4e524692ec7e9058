import { EventEmitter } from "node:events";
import type { AgentIdentity } from "../protocol/relay-access.js";

/** A device tunnel some relay holds, as an access node sees it. */
export interface HeldTunnel {
  identity: AgentIdentity;
  address: string;
  connectedAt: Date;
}

/** The tunnels of one relay this node answers for: its embedded relay, or a relay linked to it. */
export interface TunnelSource extends EventEmitter<{ online: [HeldTunnel]; offline: [HeldTunnel] }> {
  readonly relayId: string;
  get(deviceId: string): HeldTunnel | undefined;
  list(): HeldTunnel[];
  /** Closes the device's tunnel (device removed or registered again). */
  disconnect(deviceId: string): boolean;
}

/** A tunnel and the relay holding it. */
export interface PlacedTunnel {
  tunnel: HeldTunnel;
  relayId: string;
}

/**
 * Every tunnel this node answers for, over its relay sources: the embedded relay and each
 * relay whose link it holds. Sources come and go (a relay's link ends: its tunnels go
 * offline here); `online`/`offline` carry the relay's id.
 */
export class TunnelBoard extends EventEmitter<{ online: [HeldTunnel, string]; offline: [HeldTunnel, string] }> {
  private readonly sources = new Map<string, { source: TunnelSource; detach: () => void }>();

  /** Starts answering for `source`; its present tunnels are announced. */
  add(source: TunnelSource): void {
    this.remove(source.relayId);
    const online = (t: HeldTunnel): void => void this.emit("online", t, source.relayId);
    const offline = (t: HeldTunnel): void => void this.emit("offline", t, source.relayId);
    source.on("online", online);
    source.on("offline", offline);
    this.sources.set(source.relayId, {
      source,
      detach: () => {
        source.off("online", online);
        source.off("offline", offline);
      },
    });
    for (const t of source.list()) online(t);
  }

  /** Stops answering for a relay (only for `source`, when given); its tunnels read as offline here. */
  remove(relayId: string, source?: TunnelSource): void {
    const held = this.sources.get(relayId);
    if (!held || (source !== undefined && held.source !== source)) return;
    held.detach();
    this.sources.delete(relayId);
    for (const t of held.source.list()) this.emit("offline", t, relayId);
  }

  /** The ids of the relays this node answers for. */
  relayIds(): string[] {
    return [...this.sources.keys()];
  }

  find(deviceId: string): PlacedTunnel | undefined {
    for (const { source } of this.sources.values()) {
      const tunnel = source.get(deviceId);
      if (tunnel) return { tunnel, relayId: source.relayId };
    }
    return undefined;
  }

  list(): PlacedTunnel[] {
    return [...this.sources.values()].flatMap(({ source }) => source.list().map((tunnel) => ({ tunnel, relayId: source.relayId })));
  }

  /**
   * Announces a tunnel held here as online again: its record was taken over by another node
   * while this one paused past the heartbeat's limit, which ended the tunnel in the store.
   */
  announce(deviceId: string): void {
    const placed = this.find(deviceId);
    if (placed) this.emit("online", placed.tunnel, placed.relayId);
  }

  /** Tunnels per relay held here. */
  count(relayId: string): number {
    return this.sources.get(relayId)?.source.list().length ?? 0;
  }

  disconnect(deviceId: string): void {
    for (const { source } of this.sources.values()) source.disconnect(deviceId);
  }
}
