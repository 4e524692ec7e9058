import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { AccessContext } from "../access/context.js";
import { findWebTarget, type WebTargetRecord, webTargetVia } from "../access/web-targets.js";
import { SESSION_COOKIE } from "../protocol/api-session.js";
import { PORTAL_REASON_HOW, reasonRequired, validateReason } from "../protocol/connect-reason.js";
import { FernlinkError } from "../protocol/errors.js";
import type { Requester, StreamAuthority, StreamRequest } from "../protocol/relay-access.js";
import type { WebGrants } from "../protocol/web-grants.js";
import type { Relay } from "../relay/relay.js";
import { deviceOfflineError } from "../shared/format.js";
import { readCookie } from "../web/header-rewrite.js";
import type { HmiTarget } from "../web/hmi-proxy.js";
import { splitHostHeader, webTargetOrigin } from "../web/web-host.js";

/** A reason the portal sent (`?reason=`), validated; empty is none (the policy then decides). */
function portalReason(text: string | undefined): string | undefined {
  return text === undefined || text.trim() === "" ? undefined : validateReason(text);
}

/**
 * How the portal's web features reach devices: every HMI page and VNC panel is opened as a
 * stream by the relay on the user's session, so the same rules decide and the same audit
 * records it as for `fernlink connect`.
 */
export function createWebAccess(deps: { ctx: AccessContext; relay: Relay; authority: StreamAuthority; grants: WebGrants; domain: string }) {
  const { ctx, relay, authority, grants } = deps;

  async function targetFor(
    sessionToken: string | undefined,
    targetId: string,
    source: string,
    reason?: string,
  ): Promise<{ requester: Requester; target: WebTargetRecord; request: StreamRequest }> {
    if (!sessionToken) throw new FernlinkError("unauthenticated", "sign in to the Fernlink portal first");
    const requester = await authority.authenticate({ token: sessionToken, device: "", target: { host: "", port: 0 }, source });
    const target = await findWebTarget(ctx, targetId);
    // Another account's target is as unknown as a missing one.
    if (!target || target.accountId !== requester.accountId) throw new FernlinkError("not-found", `no web target "${targetId}"`);
    return {
      requester,
      target,
      request: {
        token: sessionToken,
        device: target.deviceName,
        target: { host: target.host, port: target.port },
        source,
        via: webTargetVia(target.id),
        ...(reason !== undefined ? { reason } : {}),
      },
    };
  }

  /** Checks the rules (and that the device is online) before a tab opens, recording a refusal like a refused stream. */
  async function precheck(requester: Requester, request: StreamRequest): Promise<void> {
    try {
      const grant = await authority.authorize(requester, request);
      const status = ctx.presence.status(grant.deviceId);
      if (!status) throw deviceOfflineError(grant.deviceName, grant.lastSeen);
    } catch (err) {
      const failed = err instanceof FernlinkError ? err : new FernlinkError("internal", "the access check failed", { cause: err });
      // The portal's user has no --reason flag: tell them where the portal asks for it.
      const error = failed.code === "reason-required" ? reasonRequired(PORTAL_REASON_HOW) : failed;
      authority.record({ kind: "refused", request, requester, grant: undefined, error, at: ctx.now() });
      throw error;
    }
  }

  const open = (request: StreamRequest) => (): Promise<Duplex> => relay.openStream(request);

  return {
    /** GET /web/open/:id on the portal: the URL that signs the browser in on the HMI's own host. */
    async launch(sessionToken: string | undefined, targetId: string, source: string, host: string, reasonText?: string): Promise<string> {
      const reason = portalReason(reasonText);
      const { requester, target, request } = await targetFor(sessionToken, targetId, source, reason);
      if (target.kind === "vnc") throw new FernlinkError("invalid-input", `"${target.name}" is a VNC panel: it opens in the portal's viewer`);
      await precheck(requester, request);
      // The HMI's pages open their streams later, on the grant: it carries the reason to them.
      const code = await grants.issueLaunchCode({
        sessionToken: sessionToken!,
        targetId,
        path: target.path ?? "/",
        ...(reason !== undefined ? { reason } : {}),
      });
      return `${webTargetOrigin(targetId, deps.domain, splitHostHeader(host).port)}/.fernlink/launch?code=${encodeURIComponent(code)}`;
    },

    /** Each request on an HMI host: the session must still hold; streams open on demand. */
    async resolveHmi(targetId: string, sessionToken: string, source: string, reason?: string): Promise<HmiTarget> {
      const { target, request } = await targetFor(sessionToken, targetId, source, reason);
      if (target.kind === "vnc") throw new FernlinkError("not-found", `"${target.name}" is a VNC panel, not a web page`);
      return { scheme: target.kind, host: target.host, port: target.port, path: target.path ?? "/", open: open(request) };
    },

    /** A WebSocket is not bound by the same-origin policy: only the portal's own page may open the VNC viewer's. */
    checkVncOrigin(req: IncomingMessage): void {
      const host = req.headers.host ?? "";
      const origin = req.headers.origin;
      if (origin !== `https://${host}`)
        throw new FernlinkError("forbidden", `VNC connections are accepted only from the portal's page (https://${host}), not from ${origin ?? "no origin"}`);
    },

    /** The WebSocket of the portal's VNC viewer: session cookie, then the rules. */
    async authorizeVnc(req: IncomingMessage, targetId: string): Promise<{ open(): Promise<Duplex>; password: string | undefined; label: string }> {
      const source = req.socket.remoteAddress ?? "unknown";
      const reason = portalReason(new URL(req.url ?? "/", "https://portal").searchParams.get("reason") ?? undefined);
      const { requester, target, request } = await targetFor(readCookie(req.headers.cookie, SESSION_COOKIE), targetId, source, reason);
      if (target.kind !== "vnc") throw new FernlinkError("not-found", `"${target.name}" is not a VNC panel`);
      await precheck(requester, request);
      return { open: open(request), password: target.password, label: `${target.deviceName}/${target.name}` };
    },
  };
}
