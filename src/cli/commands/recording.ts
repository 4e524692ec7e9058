import type { Command } from "commander";
import { z } from "zod";
import { apiClient } from "../../client/api-client.js";
import { NameSchema, ROUTES, routePath } from "../../protocol/api.js";
import { RecordedTargets, RecordingInfo, RecordingText } from "../../protocol/api-recordings.js";
import { UsageError } from "../../protocol/errors.js";
import { writeFileAtomic } from "../../shared/files.js";
import { printJson, printTable } from "../output.js";

/** A recording's id is its stream's id (a UUID, as in the audit and `live list`). */
const RecordingId = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** `fernlink device record DEVICE HOST:PORT on|off`: record the streams to one target of a device (admins). */
export function registerDeviceRecordCommand(device: Command): void {
  device
    .command("record <device> <target> <on|off>")
    .description("record the bytes of every stream to HOST:PORT on the device, each way, size-capped, for admins (admin; default: off)")
    .action(async (name: string, target: string, choice: string) => {
      if (!NameSchema.safeParse(name).success) throw new UsageError(`device name "${name}" is not valid`);
      if (choice !== "on" && choice !== "off") throw new UsageError(`"${choice}" is neither on nor off`);
      const api = await apiClient();
      const result = await api.call("POST", routePath(ROUTES.deviceRecord, { name }), RecordedTargets, { target, on: choice === "on" });
      const now = result.targets.length > 0 ? result.targets.join(", ") : "none";
      process.stdout.write(`recorded targets of "${result.device}": ${now}; users are told when they connect to one\n`);
    });
}

/** `fernlink recording list|get`: the recorded streams this server keeps (admins). */
export function registerRecordingCommands(program: Command): void {
  const cmd = program
    .command("recording")
    .description("bytes of streams to recorded targets (fernlink device record), kept in the server's memory; admins only");
  cmd
    .command("list")
    .description("recorded streams, newest first: id, user, device, target, start, end, bytes held")
    .option("--json", "print JSON")
    .action(async (flags: { json?: boolean }) => {
      const api = await apiClient();
      const rows = await api.call("GET", ROUTES.recordings, z.array(RecordingInfo));
      if (flags.json) return printJson(rows);
      printTable(
        ["ID", "USER", "DEVICE", "TARGET", "START", "END", "BYTES", "DROPPED"],
        rows.map((r) => [r.id, r.user, r.device, r.target, r.start, r.end ?? "open", String(r.bytes), String(r.dropped)]),
      );
    });
  cmd
    .command("get <id> <file>")
    .description("write one recording to FILE (- for stdout): a line per chunk, time, up|down, bytes, hex")
    .action(async (id: string, file: string) => {
      if (!RecordingId.test(id)) throw new UsageError(`"${id}" is not a recording id; list them with: fernlink recording list`);
      const api = await apiClient();
      const { text } = await api.call("GET", routePath(ROUTES.recording, { id }), RecordingText);
      if (file === "-") return void process.stdout.write(text);
      // The bytes of someone's session: readable by the owner only.
      await writeFileAtomic(file, text, 0o600);
      process.stderr.write(`recording ${id} written to ${file}\n`);
    });
}
