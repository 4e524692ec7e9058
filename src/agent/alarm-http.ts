import http from "node:http";
import { isIP } from "node:net";
import { AlarmRequest } from "../protocol/api-notify.js";
import { UsageError } from "../protocol/errors.js";

/** An alarm body is small JSON; anything larger is refused. */
const MAX_BODY_BYTES = 4096;

/** `--alarm-listen HOST:PORT`, loopback only: the endpoint has no authentication, so only the machine itself may use it. */
export function parseAlarmListen(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (!match || host === undefined || port > 65535) throw new UsageError(`--alarm-listen "${text}" must be HOST:PORT on loopback, e.g. 127.0.0.1:8125`);
  const loopback = host === "localhost" || host === "::1" || (isIP(host) === 4 && host.startsWith("127."));
  if (!loopback) throw new UsageError(`--alarm-listen "${text}": the alarm endpoint has no login, so it listens on loopback only (127.0.0.1 or ::1)`);
  return { host, port };
}

/**
 * The agent's loopback alarm endpoint: `POST /alarm` (or `/`) with JSON `{"severity":
 * "info"|"warning"|"critical", "text": "…"}`, answered 202 once queued for the service, 400
 * with the reason when malformed. Resolves with the server once it listens.
 */
export function startAlarmListener(options: { host: string; port: number; onAlarm: (alarm: AlarmRequest) => void }): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" }).end(`${JSON.stringify(body)}\n`);
    };
    if (req.method !== "POST" || (req.url !== "/alarm" && req.url !== "/")) {
      answer(404, { error: "POST JSON {severity, text} to /alarm" });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        answer(413, { error: `body larger than ${MAX_BODY_BYTES} bytes` });
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      let parsed: ReturnType<typeof AlarmRequest.safeParse>;
      try {
        parsed = AlarmRequest.safeParse(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch {
        answer(400, { error: 'the body is not JSON; send {"severity": "warning", "text": "…"}' });
        return;
      }
      if (!parsed.success) {
        answer(400, { error: parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ") });
        return;
      }
      options.onAlarm(parsed.data);
      answer(202, { queued: true });
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}
