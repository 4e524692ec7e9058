import { createServer } from "node:http";
import type { Command } from "commander";
import { UsageError } from "../../protocol/errors.js";
import { formatHostPort, parseHostPort } from "../../protocol/target.js";
import { waitForSignal } from "../util.js";

/** Where the demo machine listens unless told otherwise: loopback only. */
export const DEMO_LISTEN = "127.0.0.1:18080";

/** The demo machine's page: what a press's web HMI might answer, small enough to read in a terminal. */
export const DEMO_PAGE = "hello from the demo machine: press running, 1 part every 4 s\n";

/** `fernlink demo`: a stand-in machine (an HTTP server on loopback) to try Fernlink without a real one. */
export function registerDemoCommand(program: Command): void {
  program
    .command("demo")
    .description("run a demo machine: a small web server on loopback that stands in for a press's HMI, to try a tunnel to")
    .option("--listen <host:port>", "address of the demo machine's web page", DEMO_LISTEN)
    .action(async (flags: { listen: string }) => {
      const listen = parseHostPort(flags.listen, true);
      const server = createServer((_req, res) => res.writeHead(200, { "content-type": "text/plain; charset=utf-8" }).end(DEMO_PAGE));
      await new Promise<void>((resolve, reject) => {
        server.once("error", (err: NodeJS.ErrnoException) =>
          reject(err.code === "EADDRINUSE" ? new UsageError(`${flags.listen} is in use; give the demo machine another address with --listen HOST:PORT`) : err),
        );
        server.listen(listen.port, listen.host, resolve);
      });
      const address = server.address();
      const bound = typeof address === "object" && address ? formatHostPort({ host: address.address, port: address.port }) : flags.listen;
      process.stdout.write(`fernlink demo machine: http://${bound}/ (Ctrl-C stops it)\n`);
      await waitForSignal();
      server.close();
    });
}
