import { ROUTES } from "../protocol/api.js";
import { AgentPublishResponse } from "../protocol/api-publish.js";
import { errorMessage } from "../protocol/errors.js";
import type { AgentPublishSpec } from "../protocol/published-ports.js";
import { requestJson } from "../shared/https-json.js";
import type { Logger } from "../shared/log.js";
import type { AgentState } from "./state.js";

/**
 * Asks the access service for the agent's own published ports (`--publish`), with the device
 * certificate. The service decides; each job's outcome is logged as one line, and a refusal
 * (the device not allowed, a port taken) does not stop the agent. Returns the answer, or
 * undefined when the service could not be asked.
 */
export async function requestPublishedPorts(state: AgentState, jobs: readonly AgentPublishSpec[], log: Logger): Promise<AgentPublishResponse | undefined> {
  try {
    const answer = await requestJson({
      server: state.config.server,
      path: ROUTES.agentPublish,
      method: "POST",
      body: { jobs },
      ca: state.caPem,
      cert: state.certPem,
      key: state.keyPem,
      response: AgentPublishResponse,
    });
    for (const job of answer.jobs) {
      if (job.address) log.info("published port", { address: job.address, target: job.target });
      else log.warn("published port refused by the service", { port: job.port, target: job.target, reason: job.error ?? "unknown" });
    }
    return answer;
  } catch (err) {
    log.warn("published ports refused by the service", { reason: errorMessage(err) });
    return undefined;
  }
}
