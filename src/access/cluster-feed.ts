import { randomUUID } from "node:crypto";
import type { Logger } from "../shared/log.js";
import type { ChangeFeed } from "./change-feed.js";
import { type ClosedStream, type ClusterMessage, decodeClusterMessage, encodeClusterMessage } from "./cluster-message.js";
import type { ClusterCommand, ClusterLink } from "./context.js";

/** How long `live close` waits for the node carrying a stream to answer. */
export const CLOSE_STREAM_TIMEOUT_MS = 2000;

/** What a node does with the other nodes' commands, each on its own relay. */
export interface CommandHandler {
  /** Closes the device's tunnel if this node holds it. */
  disconnect(deviceId: string): void;
  /** Re-checks this node's live streams of the account. */
  revalidate(accountId: string): void;
  /** Cuts this node's streams of the account whose session or token ended. */
  endSessions(accountId: string): void;
  /** Drops this node's cached stream decisions of the account. */
  accessChanged(accountId: string): void;
  /** Cuts the stream if this node carries it for that account, and describes it; undefined otherwise. */
  closeStream(accountId: string, streamId: string): ClosedStream | undefined;
}

/** Options of `createClusterFeed`. */
export interface ClusterFeedOptions {
  nodeId: string;
  /** The in-process feed of this node: its own listeners. */
  local: ChangeFeed;
  /** Sends one payload to every node (NOTIFY); failures are logged, not thrown. */
  send: (payload: string) => Promise<void>;
  commands: CommandHandler;
  log: Logger;
  closeTimeoutMs?: number;
}

/** A change feed shared by the nodes of a cluster, and the link that carries their commands. */
export interface ClusterFeed {
  feed: ChangeFeed;
  link: ClusterLink;
  /** Hands over one payload received from the channel. */
  receive(payload: string): void;
}

/**
 * The cluster variant of the change feed: a change published here reaches this node's
 * listeners at once and every other node's through the channel; commands go the same way.
 */
export function createClusterFeed(options: ClusterFeedOptions): ClusterFeed {
  const { nodeId, local, log } = options;
  const pending = new Map<string, (stream: ClosedStream | undefined) => void>();

  const send = (msg: ClusterMessage): Promise<void> => {
    let payload: string;
    try {
      payload = encodeClusterMessage(msg);
    } catch (err) {
      log.error("cluster message not sent", { type: msg.type, error: String(err) });
      return Promise.resolve();
    }
    return options.send(payload).catch((err: unknown) => log.error("cluster message not sent", { type: msg.type, error: String(err) }));
  };

  const handle = (msg: ClusterMessage): void => {
    switch (msg.type) {
      case "event":
        return void local.publish(msg.event);
      case "disconnect":
        return void options.commands.disconnect(msg.deviceId);
      case "revalidate":
        return void options.commands.revalidate(msg.accountId);
      case "end-sessions":
        return void options.commands.endSessions(msg.accountId);
      case "access-changed":
        return void options.commands.accessChanged(msg.accountId);
      case "close-stream": {
        const stream = options.commands.closeStream(msg.accountId, msg.streamId);
        if (stream) void send({ type: "stream-closed", from: nodeId, to: msg.from, requestId: msg.requestId, stream });
        return;
      }
      case "stream-closed":
        if (msg.to === nodeId) pending.get(msg.requestId)?.(msg.stream);
        return;
    }
  };

  const feed: ChangeFeed = {
    publish(event) {
      local.publish(event);
      void send({ type: "event", from: nodeId, event });
    },
    subscribe: (accountId, listener) => local.subscribe(accountId, listener),
    size: (accountId) => local.size(accountId),
    close() {
      local.close();
      for (const resolve of pending.values()) resolve(undefined);
    },
  };

  const link: ClusterLink = {
    tell: (command: ClusterCommand) => send({ ...command, from: nodeId }),
    closeStream(accountId, streamId) {
      const requestId = randomUUID();
      return new Promise<ClosedStream | undefined>((resolve) => {
        const timer = setTimeout(() => finish(undefined), options.closeTimeoutMs ?? CLOSE_STREAM_TIMEOUT_MS);
        const finish = (stream: ClosedStream | undefined): void => {
          clearTimeout(timer);
          pending.delete(requestId);
          resolve(stream);
        };
        pending.set(requestId, finish);
        void send({ type: "close-stream", from: nodeId, requestId, accountId, streamId });
      });
    },
  };

  return {
    feed,
    link,
    receive(payload) {
      let msg: ClusterMessage;
      try {
        msg = decodeClusterMessage(payload);
      } catch (err) {
        log.warn("cluster message ignored", { error: String(err) });
        return;
      }
      if (msg.from === nodeId) return;
      try {
        handle(msg);
      } catch (err) {
        log.error("cluster message failed", { type: msg.type, error: String(err) });
      }
    },
  };
}
