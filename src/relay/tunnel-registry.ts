import { EventEmitter } from "node:events";
import type { AgentTunnel } from "./agent-tunnel.js";

/**
 * A device whose open tunnel is replaced again within this long of the last replacement is
 * flapping: two agents share one identity (one state folder copied or run twice). Its further
 * replacements are not announced as "online" (the device never went offline), so the audit gets
 * no `tunnel.up` per swap, and the relay is told once per {@link DUPLICATE_NOTICE_MS}.
 */
export const FLAP_WINDOW_MS = 60_000;
export const DUPLICATE_NOTICE_MS = 10 * 60_000;

/** What the relay is told about a device that two agents keep taking from each other. */
export interface DuplicateAgents {
  tunnel: AgentTunnel;
  /** The addresses of the replaced and the replacing agent. */
  addresses: [string, string];
}

/**
 * The tunnels this relay holds, one per device; a newer tunnel replaces an older one. A tunnel
 * whose agent is leaving (it moved to another relay and sent GOAWAY) goes offline here at
 * once, so that no node sends the device's new streams here, while its open streams finish.
 */
export class TunnelRegistry extends EventEmitter<{ online: [AgentTunnel]; offline: [AgentTunnel] }> {
  private readonly byDevice = new Map<string, AgentTunnel>();
  /** Tunnels that went offline while their last streams finish: closed with the others. */
  private readonly leaving = new Set<AgentTunnel>();
  /** Per device: when its open tunnel was last replaced, and when the relay was last told of a duplicate. */
  private readonly swaps = new Map<string, { lastAt: number; noticedAt: number | undefined }>();
  private sweptAt = 0;

  private readonly now: () => number;
  private readonly onDuplicate: (duplicate: DuplicateAgents) => void;

  constructor(
    readonly relayId: string,
    options: { now?: () => number; onDuplicate?: (duplicate: DuplicateAgents) => void } = {},
  ) {
    super();
    this.now = options.now ?? Date.now;
    this.onDuplicate = options.onDuplicate ?? (() => {});
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
    const flapping = previous?.isOpen === true && this.noteSwap(deviceId, previous, tunnel);
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
    if (!flapping) this.emit("online", tunnel);
    return true;
  }

  /** Records that an open tunnel was replaced; true when the device is flapping. */
  private noteSwap(deviceId: string, previous: AgentTunnel, tunnel: AgentTunnel): boolean {
    const now = this.now();
    this.forgetOldSwaps(now);
    const swap = this.swaps.get(deviceId);
    this.swaps.set(deviceId, { lastAt: now, noticedAt: swap?.noticedAt });
    if (!swap || now - swap.lastAt > FLAP_WINDOW_MS) return false;
    if (swap.noticedAt === undefined || now - swap.noticedAt > DUPLICATE_NOTICE_MS) {
      this.swaps.set(deviceId, { lastAt: now, noticedAt: now });
      this.onDuplicate({ tunnel, addresses: [previous.address, tunnel.address] });
    }
    return true;
  }

  /**
   * Drops the swap records that can no longer change a decision (no swap within the flap window,
   * no notice within the notice interval), at most once a flap window, so that a relay running
   * for years keeps no record per device it ever saw reconnect.
   */
  private forgetOldSwaps(now: number): void {
    if (now - this.sweptAt < FLAP_WINDOW_MS) return;
    this.sweptAt = now;
    for (const [deviceId, swap] of this.swaps) {
      const noticeOver = swap.noticedAt === undefined || now - swap.noticedAt > DUPLICATE_NOTICE_MS;
      if (now - swap.lastAt > FLAP_WINDOW_MS && noticeOver) this.swaps.delete(deviceId);
    }
  }

  /** How many devices' swap records are kept (they expire; see forgetOldSwaps). */
  get swapRecords(): number {
    return this.swaps.size;
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
