import type { AgentPublishRequest, AgentPublishResponse } from "../protocol/api-publish.js";
import { FernlinkError } from "../protocol/errors.js";
import type { AgentIdentity, Requester } from "../protocol/relay-access.js";
import { formatHostPort } from "../protocol/target.js";
import { audit, auditBy } from "./audit-log.js";
import type { AccessContext, Principal } from "./context.js";
import { deviceByName } from "./devices.js";
import { createJob, describeJob, publishJob } from "./published-ports.js";
import { ensureAdmin } from "./roles.js";
import { getDevice, setAgentPublish } from "./store/devices.js";
import { listPublishedPorts, removePublishedPort } from "./store/published-ports.js";
import { getUser } from "./store/users.js";

/**
 * Published ports an agent asks for (`fernlink agent run --publish …`), as IPrAcc's client
 * defines its forward jobs. The service decides: only a device an admin allowed may ask, and
 * its jobs use that admin's rights, checked on every connection like any other job.
 */

/** Lets the device's agent ask for published ports with the caller's rights, or stops that (admins). */
export async function setAgentPublishSwitch(ctx: AccessContext, who: Principal, deviceName: string, allowed: boolean): Promise<void> {
  await ensureAdmin(ctx, who, "publish.agent-switch", deviceName);
  const device = await deviceByName(ctx, who, deviceName);
  await setAgentPublish(ctx.db, device.id, allowed ? who.userId : null);
  await auditBy(ctx, who, "publish.agent-switch", `${device.name}: ${allowed ? "agent may publish ports" : "agent may not publish ports"}`);
}

function sameJob(
  row: { port: number; target_host: string; target_port: number; protocol: string; allow_from: string },
  job: AgentPublishRequest["jobs"][number],
): boolean {
  return (
    row.protocol === (job.protocol ?? "tcp") &&
    row.port === job.port &&
    formatHostPort({ host: row.target_host, port: row.target_port }) === job.target &&
    row.allow_from === job.allowFrom.join(" ")
  );
}

/**
 * The agent's jobs: the ones it asked for before and no longer asks for are removed, the new
 * ones made (each refused on its own, with the reason in the answer). Refused as a whole when
 * no admin allowed the device to ask.
 */
export async function agentPublish(ctx: AccessContext, identity: AgentIdentity, request: AgentPublishRequest, source: string): Promise<AgentPublishResponse> {
  const device = await getDevice(ctx.db, identity.deviceId);
  const owner = device?.agent_publish_by ? await getUser(ctx.db, device.agent_publish_by) : undefined;
  if (!device || !owner || owner.account_id !== device.account_id) {
    const message =
      `device "${identity.deviceName}" may not publish ports from its agent; an account admin allows it with: ` +
      `fernlink device agent-publish ${identity.deviceName} allow`;
    await audit(ctx, {
      accountId: identity.accountId,
      actor: null,
      source,
      action: "publish.agent",
      object: identity.deviceName,
      device: identity.deviceName,
      result: "denied",
      reason: "forbidden: the device is not allowed to publish ports",
    });
    throw new FernlinkError("forbidden", message);
  }
  const requester: Requester = { accountId: owner.account_id, userId: owner.id, userName: owner.name, role: owner.role, sessionId: "agent-publish" };
  const existing = (await listPublishedPorts(ctx.db, device.account_id)).filter((r) => r.device_id === device.id && r.origin === "agent");
  for (const row of existing) {
    if (request.jobs.some((j) => sameJob(row, j))) continue;
    await removePublishedPort(ctx.db, row.id);
    ctx.publisher?.close(row.id);
  }
  const answers: AgentPublishResponse["jobs"] = [];
  for (const job of request.jobs) {
    const kept = existing.find((r) => sameJob(r, job));
    try {
      if (kept) {
        // Still wanted: listen again if it is not (a restarted node opens active jobs itself).
        if (!ctx.publisher?.stats(kept.id)?.listening) await ctx.publisher?.open(publishJob(kept));
        answers.push({
          port: job.port,
          target: job.target,
          address: formatHostPort({ host: ctx.publisher?.hostFor?.(device.id) ?? ctx.publisher?.host ?? "?", port: job.port }),
        });
        continue;
      }
      const row = await createJob(ctx, requester, device, {
        port: job.port,
        target: job.target,
        allowFrom: job.allowFrom,
        name: `${device.name}-agent-${job.port}`,
        logData: false,
        origin: "agent",
        protocol: job.protocol ?? "tcp",
      });
      await audit(ctx, {
        accountId: device.account_id,
        actor: null,
        source,
        action: "publish.agent",
        object: describeJob(ctx, row),
        device: device.name,
        result: "ok",
      });
      answers.push({
        port: job.port,
        target: job.target,
        address: formatHostPort({ host: ctx.publisher?.hostFor?.(device.id) ?? ctx.publisher?.host ?? "?", port: job.port }),
      });
    } catch (err) {
      if (!(err instanceof FernlinkError)) throw err;
      answers.push({ port: job.port, target: job.target, error: err.message });
    }
  }
  return { jobs: answers };
}
