import { EventEmitter } from "node:events";
import type { AgentTunnel } from "./agent-tunnel.js";

/**
 * The tunnels this relay holds, one per device; a newer tunnel replaces an older one. A tunnel
 * whose agent is leaving (it moved to another relay and sent GOAWAY) goes offline here at
 * once, so that no node sends the device's new streams here, while its open streams finish.
 */
export class TunnelRegistry extends EventEmitter<{ online: [AgentTunnel]; offline: [AgentTunnel] }> {
  private readonly byDevice = new Map<string, AgentTunnel>();
  /** Tunnels that went offline while their last streams finish: closed with the others. */
  private readonly leaving = new Set<AgentTunnel>();

  constructor(readonly relayId: string) {
    super();
  }

  /**
   * Adds a tunnel and closes the device's previous one — unless the previous one was accepted
   * later (a slow authentication finishing after a faster reconnect); then the newcomer is
   * closed instead. Returns whether the tunnel was kept.
   */
  add(tunnel: AgentTunnel): boolean {
    const deviceId = tunnel.identity.deviceId;
    const previous = this.byDevice.get(deviceId);
    if (previous?.isOpen && previous.connectedAt > tunnel.connectedAt) {
      tunnel.destroy();
      return false;
    }
    this.byDevice.set(deviceId, tunnel);
    const gone = (): void => {
      if (this.byDevice.get(deviceId) !== tunnel) return;
      this.byDevice.delete(deviceId);
      this.emit("offline", tunnel);
    };
    tunnel.once("leaving", () => {
      this.leaving.add(tunnel);
      gone();
    });
    tunnel.once("close", () => {
      this.leaving.delete(tunnel);
      gone();
    });
    if (previous) previous.destroy();
    this.emit("online", tunnel);
    return true;
  }

  /** The live tunnel of a device, if it is connected here. */
  get(deviceId: string): AgentTunnel | undefined {
    const tunnel = this.byDevice.get(deviceId);
    return tunnel?.isOpen ? tunnel : undefined;
  }

  /** Every live tunnel. */
  list(): AgentTunnel[] {
    return [...this.byDevice.values()].filter((t) => t.isOpen);
  }

  /** Closes a device's tunnel (device removed or certificate revoked). */
  disconnect(deviceId: string): boolean {
    const tunnel = this.byDevice.get(deviceId);
    if (!tunnel) return false;
    tunnel.destroy();
    return true;
  }

  /** Closes every tunnel, leaving ones included (relay shutdown). */
  closeAll(): void {
    for (const tunnel of [...this.byDevice.values(), ...this.leaving]) tunnel.destroy();
  }
}
