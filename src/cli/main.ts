import type { Command } from "commander";
import { registerAccessRuleCommands } from "./commands/access-rules.js";
import { registerAgentCommands } from "./commands/agent.js";
import { registerAuditCommand } from "./commands/audit.js";
import { registerCheckCommand } from "./commands/check.js";
import { registerConnectCommand } from "./commands/connect.js";
import { registerDemoCommand } from "./commands/demo.js";
import { registerDeviceCommands } from "./commands/device.js";
import { registerLiveCommands } from "./commands/live.js";
import { registerLoginThrottleCommands } from "./commands/login-throttle.js";
import { registerNotifyCommands } from "./commands/notify.js";
import { registerOperatorCommands } from "./commands/operator.js";
import { registerPublishCommands } from "./commands/publish.js";
import { registerRecordingCommands } from "./commands/recording.js";
import { registerRelayCommands } from "./commands/relay.js";
import { registerReportCommands } from "./commands/report.js";
import { registerServerCommand } from "./commands/server.js";
import { registerSessionCommands } from "./commands/session.js";
import { registerSessionAdminCommands } from "./commands/sessions.js";
import { registerUserCommands } from "./commands/users.js";
import { createProgram, runProgram } from "./program.js";

/** The `fernlink` program with every command registered. */
export function buildProgram(): Command {
  return createProgram([
    registerServerCommand,
    registerSessionCommands,
    registerDeviceCommands,
    registerAgentCommands,
    registerRelayCommands,
    registerConnectCommand,
    registerCheckCommand,
    registerAuditCommand,
    registerReportCommands,
    registerLiveCommands,
    registerPublishCommands,
    registerRecordingCommands,
    registerNotifyCommands,
    registerUserCommands,
    registerSessionAdminCommands,
    registerAccessRuleCommands,
    registerDemoCommand,
    registerLoginThrottleCommands,
    registerOperatorCommands,
  ]);
}

/** Runs the CLI and returns the exit status (0 ok, 1 failure, 2 usage, 3 certificate revoked). */
export function main(argv: string[]): Promise<number> {
  return runProgram(buildProgram(), argv);
}
