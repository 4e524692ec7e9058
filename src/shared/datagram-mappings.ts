import type { Duplex } from "node:stream";
import type { HostPort } from "../protocol/target.js";
import { type DatagramChannel, datagramChannel } from "./datagram-channel.js";
import { abortStream } from "./stream-cancel.js";

/** How long a UDP mapping lives without a datagram either way (`--udp-idle`), as NATs keep theirs: long enough for DNS, SNMP and polling. */
export const UDP_IDLE_MS = 60_000;

/** Datagrams held for a mapping while its stream opens; more are dropped, as a full queue would. */
export const MAX_PENDING_DATAGRAMS = 32;

/** After a stream could not be opened, its mapping drops datagrams this long, so an application's retries are not each a refused stream. */
export const FAILED_HOLD_MS = 5_000;

interface Mapping {
  channel: DatagramChannel | undefined;
  pending: Buffer[];
  closed: boolean;
}

/** What mappings need: how to open a UDP stream, how long they may idle, where failures go. */
export interface DatagramMappingsOptions {
  /** Opens the stream of the mapping `key` (a published UDP port takes its source from the key). */
  open: (target: HostPort, key: string) => Promise<Duplex>;
  idleMs: number;
  onError: (err: unknown, target: HostPort) => void;
}

/**
 * UDP flows in front of the tunnel (the client's forwards and SOCKS associations, and any
 * server-side UDP listener that opens streams with `protocol: "udp"`): each key (a source
 * address, or a SOCKS client's target)
 * gets one stream through the tunnel on its first datagram, kept until it idles out, its stream
 * ends, or everything is closed. Answers go back through the mapping's `reply`.
 */
export class DatagramMappings {
  private readonly mappings = new Map<string, Mapping>();
  private stopped = false;

  constructor(private readonly options: DatagramMappingsOptions) {}

  /** Mappings alive (opening, open, or holding a failure). */
  get size(): number {
    return this.mappings.size;
  }

  /** Sends `payload` on the mapping for `key`, opening its stream to `target` first if there is none. */
  send(key: string, target: HostPort, payload: Buffer, reply: (payload: Buffer) => void): void {
    if (this.stopped) return;
    const known = this.mappings.get(key);
    if (known) {
      if (known.channel) known.channel.send(payload);
      else if (!known.closed && known.pending.length < MAX_PENDING_DATAGRAMS) known.pending.push(payload);
      return;
    }
    const mapping: Mapping = { channel: undefined, pending: [payload], closed: false };
    this.mappings.set(key, mapping);
    const forget = (): void => {
      mapping.closed = true;
      if (this.mappings.get(key) === mapping) this.mappings.delete(key);
    };
    this.options.open(target, key).then(
      (stream) => {
        if (mapping.closed) return abortStream(stream);
        const channel = datagramChannel(stream, {
          onDatagram: (d) => {
            if (!mapping.closed) reply(d);
          },
          onEnd: () => {
            forget();
            channel.close();
          },
          idleMs: this.options.idleMs,
          onIdle: () => {
            forget();
            channel.close();
          },
        });
        mapping.channel = channel;
        for (const d of mapping.pending.splice(0)) channel.send(d);
      },
      (err: unknown) => {
        mapping.pending = [];
        if (!mapping.closed) this.options.onError(err, target);
        mapping.closed = true;
        setTimeout(forget, FAILED_HOLD_MS).unref();
      },
    );
  }

  /** Ends every mapping's stream and takes no more datagrams. */
  closeAll(): void {
    this.stopped = true;
    for (const mapping of this.mappings.values()) {
      mapping.closed = true;
      mapping.channel?.close();
    }
    this.mappings.clear();
  }
}
