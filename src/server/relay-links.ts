import { EventEmitter } from "node:events";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { createInterface } from "node:readline";
import type { TLSSocket } from "node:tls";
import type { AccessContext } from "../access/context.js";
import type { RelayDirectory } from "../access/relay-directory.js";
import { relayOfCertificate } from "../access/relays.js";
import { getDevice } from "../access/store/devices.js";
import { beatRelay, relayGone } from "../access/store/relays.js";
import { errorMessage, FernlinkError } from "../protocol/errors.js";
import type { PublishJob, PublishStats } from "../protocol/published-ports.js";
import { type RelayCommand, RelayEvent } from "../protocol/relay-link.js";
import { errorResponseHeaders } from "../protocol/stream-headers.js";
import type { HeldTunnel, TunnelBoard, TunnelSource } from "./tunnel-board.js";

/** How long a drained relay lets open streams run before it closes them. */
export const DRAIN_DEADLINE_MS = 10 * 60_000;

/** The tunnels a linked relay reported, mirrored on the node holding its link. */
class LinkedRelay extends EventEmitter<{ online: [HeldTunnel]; offline: [HeldTunnel] }> implements TunnelSource {
  private readonly tunnels = new Map<string, HeldTunnel>();
  drainSent = false;
  /** The job list last sent down this link (JSON), so an unchanged list is not sent again. */
  jobsSent: string | undefined;
  /** The relay's counters of its published ports, and its listeners' host. */
  published: { host: string; jobs: Map<string, PublishStats> } | undefined;

  constructor(
    readonly relayId: string,
    private readonly tell: (command: RelayCommand) => void,
  ) {
    super();
  }

  get(deviceId: string): HeldTunnel | undefined {
    return this.tunnels.get(deviceId);
  }

  list(): HeldTunnel[] {
    return [...this.tunnels.values()];
  }

  disconnect(deviceId: string): boolean {
    if (!this.tunnels.has(deviceId)) return false;
    this.tell({ type: "disconnect", deviceId });
    return true;
  }

  up(tunnel: HeldTunnel): void {
    this.tunnels.set(tunnel.identity.deviceId, tunnel);
    this.emit("online", tunnel);
  }

  down(deviceId: string): void {
    const tunnel = this.tunnels.get(deviceId);
    if (!tunnel) return;
    this.tunnels.delete(deviceId);
    this.emit("offline", tunnel);
  }

  send(command: RelayCommand): void {
    this.tell(command);
  }
}

/** The access node's end of the relays' links (`protocol/relay-link.ts`). */
export interface RelayLinks {
  /** Takes a relay's link request (HTTP/2 POST RELAY_ROUTES.link). */
  handle(req: Http2ServerRequest, res: Http2ServerResponse): void;
  /** Tells linked relays that the store now marks as draining to drain. */
  checkDrains(): void;
  /** Sends each linked relay the jobs of `active` whose device it holds, when they changed since the last list sent. */
  sendJobs(active: readonly PublishJob[]): void;
  /** Whether a linked relay holds the device's tunnel (its published ports listen there). */
  holds(deviceId: string): boolean;
  /** Whether relay `relayId` is linked here and holds the device's tunnel. */
  relayHolds(relayId: string, deviceId: string): boolean;
  /** The host of the listeners of the linked relay holding the device, once it said. */
  publishHost(deviceId: string): string | undefined;
  /** A linked relay's counters of a job it listens for, with its listeners' host. */
  publishedStats(jobId: string): { host: string; stats: PublishStats } | undefined;
  close(): void;
}

/**
 * Each relay holds one link to one access node. That node checks the relay certificate
 * against the store, mirrors the relay's tunnels onto its board (so presence, audit and the
 * cluster's `live_tunnels` treat them as its own relay's), writes the relay's load as its
 * heartbeat, and passes commands down. When the link ends, the relay's tunnels read as
 * offline at once, and the relay as offline in `relay list`.
 */
export function createRelayLinks(ctx: () => AccessContext, board: TunnelBoard, directory: RelayDirectory): RelayLinks {
  const linked = new Map<string, LinkedRelay>();
  const responses = new Set<Http2ServerResponse>();

  async function open(req: Http2ServerRequest, res: Http2ServerResponse): Promise<void> {
    const c = ctx();
    const socket = req.stream.session?.socket as TLSSocket | undefined;
    const cert = socket?.authorized ? socket.getPeerCertificate() : undefined;
    if (!cert?.serialNumber) throw new FernlinkError("certificate-rejected", "a relay link needs a relay certificate");
    const row = await relayOfCertificate(c.db, cert);
    res.writeHead(200, { "content-type": "application/x-ndjson" });
    responses.add(res);
    const relay = new LinkedRelay(row.id, (command) => {
      if (!res.writableEnded) res.write(`${JSON.stringify(command)}\n`);
    });
    linked.get(row.id)?.removeAllListeners();
    linked.set(row.id, relay);
    board.add(relay);
    c.log.info("relay linked", { relay: row.name, address: socket?.remoteAddress });
    // Events are handled one after another: an "up" needs a store read, and a "down" right
    // after it must not overtake it.
    let queue = Promise.resolve();
    let url: string | undefined;
    let region: string | null | undefined;
    const handleEvent = async (event: RelayEvent): Promise<void> => {
      switch (event.type) {
        case "hello":
          url = event.url;
          region = event.region ?? null;
          return;
        case "up": {
          const device = await getDevice(c.db, event.deviceId);
          if (!device) return relay.send({ type: "disconnect", deviceId: event.deviceId });
          const since = new Date(event.since);
          relay.up({
            identity: { deviceId: device.id, accountId: device.account_id, deviceName: device.name, certSerial: device.cert_serial ?? "" },
            address: event.address,
            connectedAt: Number.isNaN(since.getTime()) ? c.now() : since,
          });
          return;
        }
        case "down":
          return relay.down(event.deviceId);
        case "published":
          relay.published = {
            host: event.host,
            jobs: new Map(event.jobs.map(({ jobId, lastError, ...stats }) => [jobId, { ...stats, ...(lastError !== undefined ? { lastError } : {}) }])),
          };
          return;
        case "load":
          await beatRelay(c.db, row.id, {
            now: c.now(),
            devices: relay.list().length,
            streams: event.streams,
            bytesUp: event.bytesUp,
            bytesDown: event.bytesDown,
            ...(url !== undefined ? { url } : {}),
            ...(region !== undefined ? { region } : {}),
          });
          return;
      }
    };
    // readline re-emits its input's errors: a relay killed mid-link (ECONNRESET) would end this process unheard.
    // The stream's own close below ends the link.
    const lines = createInterface({ input: req.stream });
    lines.on("error", () => {});
    lines.on("line", (line) => {
      let event: RelayEvent;
      try {
        event = RelayEvent.parse(JSON.parse(line));
      } catch {
        return c.log.warn("relay link: malformed event ignored", { relay: row.name });
      }
      queue = queue
        .then(() => handleEvent(event))
        .catch((err: unknown) => c.log.error("relay link: event failed", { relay: row.name, error: errorMessage(err) }));
    });
    const ended = (): void => {
      if (linked.get(row.id) !== relay) return;
      linked.delete(row.id);
      responses.delete(res);
      board.remove(row.id, relay);
      c.log.warn("relay link ended", { relay: row.name });
      void c.work.track(relayGone(c.db, row.id).catch(() => {}));
    };
    req.once("close", ended);
    res.once("close", ended);
  }

  return {
    handle(req, res) {
      open(req, res).catch((err: unknown) => {
        const error = err instanceof FernlinkError ? err : new FernlinkError("internal", "the relay link failed", { cause: err });
        if (!res.headersSent) {
          res.stream.respond(errorResponseHeaders(error), { endStream: true });
        } else res.end();
      });
    },
    checkDrains() {
      for (const relay of linked.values()) {
        if (relay.drainSent || !directory.get(relay.relayId)?.draining) continue;
        relay.drainSent = true;
        relay.send({ type: "drain", deadlineMs: DRAIN_DEADLINE_MS });
      }
    },
    sendJobs(active) {
      for (const relay of linked.values()) {
        const jobs = active.filter((job) => relay.get(job.deviceId) !== undefined);
        const text = JSON.stringify(jobs);
        if (text === relay.jobsSent) continue;
        relay.jobsSent = text;
        relay.send({ type: "publish", jobs });
      }
    },
    holds(deviceId) {
      for (const relay of linked.values()) if (relay.get(deviceId)) return true;
      return false;
    },
    relayHolds(relayId, deviceId) {
      return linked.get(relayId)?.get(deviceId) !== undefined;
    },
    publishHost(deviceId) {
      for (const relay of linked.values()) if (relay.get(deviceId) && relay.published) return relay.published.host;
      return undefined;
    },
    publishedStats(jobId) {
      for (const relay of linked.values()) {
        const stats = relay.published?.jobs.get(jobId);
        if (stats && relay.published) return { host: relay.published.host, stats };
      }
      return undefined;
    },
    close() {
      for (const res of responses) res.stream.close();
      responses.clear();
    },
  };
}
