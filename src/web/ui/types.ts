/** The portal's API bodies, as the protocol modules define them (types only: no zod in the bundle). */

export type { LiveStreamInfo as LiveStream, LiveStreams, LiveTunnel, LiveTunnels, StatusResponse as ServerStatus } from "../../protocol/api-live.js";
export type {
  ChannelAdded,
  ChannelAddRequest,
  ChannelInfo,
  ChannelTestResult,
  NotificationInfo,
  RuleAddRequest,
  RuleInfo,
} from "../../protocol/api-notify.js";
export type { PublishConnection, PublishedPortInfo as PublishedPort, PublishList } from "../../protocol/api-publish.js";
export type { BrowserSession as PortalSession, BrowserSessionState as PortalSessionState } from "../../protocol/api-session.js";
export type { WebTargetAddRequest, WebTargetInfo as WebTarget, WebTargetList } from "../../protocol/api-web-targets.js";
