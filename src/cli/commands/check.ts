import type { Command } from "commander";
import { readCa } from "../../client/client-state.js";
import { FernlinkError, UsageError } from "../../protocol/errors.js";
import { checkConnection, formatCheckReport } from "../../shared/connection-check.js";
import { printJson } from "../output.js";

/** `fernlink check`: what the network between here and the server lets through, and what to ask IT to open. */
export function registerCheckCommand(program: Command): void {
  program
    .command("check")
    .description("check what the network lets through to the server (DNS, TCP, proxy, TLS chain, ALPN, WebSocket, clock) and what to open")
    .requiredOption("--server <url>", "https://HOST:PORT of the Fernlink server")
    .option("--ca <file>", "CA certificate to trust (the server's ca.pem); or FERNLINK_CA")
    .option("--json", "print JSON")
    .action(async (flags: { server: string; ca?: string; json?: boolean }) => {
      let url: URL;
      try {
        url = new URL(flags.server);
      } catch {
        throw new UsageError(`--server "${flags.server}" is not a URL; use e.g. https://fernlink.example.com:443`);
      }
      if (url.protocol !== "https:") throw new UsageError(`--server "${flags.server}" must start with https://`);
      const ca = await readCa(flags.ca ?? process.env["FERNLINK_CA"]);
      const report = await checkConnection({ server: url.origin, ca });
      if (flags.json) printJson(report);
      else process.stdout.write(formatCheckReport(report));
      const blocked = report.checks.filter((c) => c.result === "blocked").map((c) => c.name);
      if (blocked.length > 0)
        throw new FernlinkError(
          "server-unreachable",
          `${url.origin} cannot be reached from here: ${blocked.join(", ")} blocked (see the checklist for what to open)`,
        );
    });
}
