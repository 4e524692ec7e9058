import type { Command } from "commander";
import { z } from "zod";
import { apiClient } from "../../client/api-client.js";
import { ROUTES, routePath } from "../../protocol/api.js";
import { LiveStreams, LiveTunnels, StreamIdSchema } from "../../protocol/api-live.js";
import { UsageError } from "../../protocol/errors.js";
import { isoSeconds } from "../../shared/format.js";
import { printJson, printTable } from "../output.js";

const Ok = z.object({ ok: z.boolean() });

async function showLive(flags: { json?: boolean }): Promise<void> {
  const api = await apiClient();
  const [{ tunnels }, { streams }] = await Promise.all([api.call("GET", ROUTES.liveTunnels, LiveTunnels), api.call("GET", ROUTES.liveStreams, LiveStreams)]);
  if (flags.json) return printJson({ tunnels, streams });
  printTable(
    ["DEVICE", "ADDRESS", "RELAY", "SINCE"],
    tunnels.map((t) => [t.device, t.address, t.relay, isoSeconds(t.since)]),
  );
  process.stdout.write("\n");
  printTable(
    ["STREAM", "USER", "DEVICE", "TARGET", "SOURCE", "SINCE", "UP", "DOWN"],
    streams.map((s) => [s.id, s.user, s.device, s.target, s.source, isoSeconds(s.since), String(s.bytesUp), String(s.bytesDown)]),
  );
}

async function closeStream(id: string): Promise<void> {
  if (!StreamIdSchema.safeParse(id).success) throw new UsageError(`stream id "${id}" is not valid; copy it from: fernlink live`);
  const api = await apiClient();
  await api.call("DELETE", routePath(ROUTES.liveStream, { id }), Ok);
  process.stdout.write(`stream ${id} closed\n`);
}

/** `fernlink live [--json]` and `fernlink live close ID`: the account's tunnels and streams right now (admins). */
export function registerLiveCommands(program: Command): void {
  const live = program
    .command("live")
    .description("agent tunnels and streams of the account right now, with bytes so far; admins only")
    .option("--json", "print JSON: { tunnels, streams }")
    .action(showLive);
  live.command("close <id>").description("cut a live stream (the STREAM column of fernlink live); recorded in the audit as stream.close").action(closeStream);
}
