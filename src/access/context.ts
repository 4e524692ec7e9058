import type { KeyObject } from "node:crypto";
import type { Kysely } from "kysely";
import type { SessionRestriction } from "../protocol/api.js";
import type { RecordingReader } from "../protocol/api-recordings.js";
import type { PortPublisher } from "../protocol/published-ports.js";
import type { LiveStream } from "../protocol/relay-access.js";
import type { BackgroundWork } from "../shared/background-work.js";
import type { ConcurrencyLimit } from "../shared/concurrency-limit.js";
import type { Logger } from "../shared/log.js";
import type { Metrics } from "../shared/metrics.js";
import type { Ca } from "./ca.js";
import type { ChangeFeed } from "./change-feed.js";
import type { ClosedStream } from "./cluster-message.js";
import type { RefusalAggregator } from "./refusal-aggregator.js";
import type { Database } from "./store/schema.js";

/** Where a device's tunnel is right now, as the relays report it. */
export interface DevicePresence {
  relayId: string;
  /** The relay's name (`fernlink relay list`). */
  relay: string;
  address: string;
  since: Date;
}

/** The relays as the access service sees them: who is online, and a way to cut a device off. */
export interface Presence {
  status(deviceId: string): DevicePresence | undefined;
  disconnect(deviceId: string): void;
  /** Streams carried by this node right now for one account, or for every account when none is given. */
  streams(accountId?: string): LiveStream[];
  /** For the live view: the account's streams on every node of a cluster (others' as of their last heartbeat). */
  clusterStreams?(accountId: string): LiveStream[];
  /** Cuts a live stream. */
  cutStream(streamId: string): void;
  /** Tunnels connected right now for one account. */
  tunnels(accountId: string): TunnelInfo[];
  /** Every relay, with the tunnels and streams of one account it carries. */
  relays(accountId: string): RelayLoad[];
}

/** A device's tunnel as the live view lists it. */
export interface TunnelInfo {
  deviceId: string;
  deviceName: string;
  address: string;
  since: Date;
  /** The relay's name. */
  relay: string;
}

/** One relay with the number of an account's tunnels and streams on it. */
export interface RelayLoad {
  /** The relay's name. */
  id: string;
  tunnels: number;
  streams: number;
}

/** A relay an agent may be sent to. */
export interface RelayEndpoint {
  id: string;
  name: string;
  host: string;
  port: number;
}

/** A command to every other node of a cluster, without the sender (the link fills it in). */
export type ClusterCommand =
  | { type: "disconnect"; deviceId: string }
  | { type: "revalidate"; accountId: string }
  | { type: "end-sessions"; accountId: string }
  | { type: "access-changed"; accountId: string };

/** How an access node reaches the other nodes of its cluster (absent on a single node). */
export interface ClusterLink {
  /** Tells every other node to act on its own relay; settles once sent (failures are logged), not delivered. */
  tell(command: ClusterCommand): Promise<void>;
  /** Asks the node carrying a stream of the account to cut it; undefined when none answers in time. */
  closeStream(accountId: string, streamId: string): Promise<ClosedStream | undefined>;
}

/** Everything the access service's functions need; passed in, never global. */
export interface AccessContext {
  db: Kysely<Database>;
  ca: Ca;
  presence: Presence;
  /**
   * The relays for a device's next connection, best first; `requestHost` is the host the agent
   * used to reach us, `region` the agent's own.
   */
  assignRelay(deviceId: string, requestHost: string | undefined, region: string | undefined): RelayEndpoint[];
  now: () => Date;
  log: Logger;
  /** Audit and presence writes in flight; drained before the store closes. */
  work: BackgroundWork;
  /** HMAC key of the audit hash chain (`DATA/audit-key`); never in the database. */
  auditKey: KeyObject;
  /** AES-256-GCM key of the secret box (`DATA/secret-key`) sealing stored VNC passwords; never in the database. */
  secretKey: KeyObject;
  /** Tunnel and stream changes per account, for the portal's live event stream. */
  changes: ChangeFeed;
  /** The other nodes of a cluster on PostgreSQL; absent on a single node. */
  cluster?: ClusterLink;
  /** Password checks running at once, per source address and in all (see login-guard.ts). */
  loginChecks: ConcurrencyLimit;
  /** Counts floods of unauthenticated refusals into aggregated audit records; flushed at shutdown. */
  refusals: RefusalAggregator;
  /** Counts each audited event for the Prometheus metrics (`--metrics-listen`), when they are on. */
  metrics?: Pick<Metrics, "auditEvent" | "auditWriteFailed">;
  /** The listeners of published ports on this node's host; absent where ports are not published. */
  publisher?: PortPublisher;
  /** The recordings this node's relay keeps; absent where no relay carries streams. */
  recordings?: RecordingReader;
}

/** The authenticated caller of an API request. */
export interface Principal {
  accountId: string;
  accountName: string;
  userId: string;
  userName: string;
  role: "admin" | "member";
  /** The session's id; for an API token, `token:` and the token's id. */
  sessionId: string;
  /** When the session or token ends; null for an API token without expiry. */
  expiresAt: string | null;
  source: string;
  /** Set when the caller authenticated with an API token: the token's name. */
  tokenName?: string;
  /** Set on a session that may only fix what the account policy asks for (see sessions.ts). */
  restriction?: SessionRestriction;
}
