/**
 * Reads a process's V8 heap from outside, through the inspector it was started with
 * (`--inspect=127.0.0.1:0`): a full GC, then `process.memoryUsage()` evaluated in it. The
 * server has no endpoint for its own heap; the inspector costs nothing until asked.
 */
import WebSocket from "ws";

/** The flag that makes a process answer `memoryOf`; it prints its ws:// URL on stderr. */
export const INSPECT_FLAG = "--inspect=127.0.0.1:0";

/** The inspector's URL from a process's output, if it printed one. */
export function inspectorUrl(output: string): string | undefined {
  return /Debugger listening on (ws:\/\/\S+)/.exec(output)?.[1];
}

/** process.memoryUsage() of the inspected process after a full GC, in bytes. */
export interface HeapReading {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

/** Collects garbage in the process behind `url` and reads its memory use. */
export function memoryOf(url: string, timeoutMs = 30_000): Promise<HeapReading> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => finish(new Error(`inspector ${url}: no answer within ${timeoutMs} ms`)), timeoutMs);
    const finish = (err?: Error, value?: HeapReading): void => {
      clearTimeout(timer);
      ws.close();
      if (err) reject(err);
      else resolve(value!);
    };
    ws.once("error", (err) => finish(err));
    ws.once("open", () => {
      // Twice: objects with finalizers (sockets, sessions) are only freed by a second pass.
      ws.send(JSON.stringify({ id: 1, method: "HeapProfiler.collectGarbage" }));
      ws.send(JSON.stringify({ id: 3, method: "HeapProfiler.collectGarbage" }));
      ws.send(JSON.stringify({ id: 2, method: "Runtime.evaluate", params: { expression: "JSON.stringify(process.memoryUsage())", returnByValue: true } }));
    });
    ws.on("message", (data: Buffer) => {
      const msg = JSON.parse(data.toString()) as { id?: number; result?: { result?: { value?: string } }; error?: { message: string } };
      if (msg.id !== 2) return;
      const value = msg.result?.result?.value;
      if (msg.error || typeof value !== "string") return finish(new Error(`inspector ${url}: ${msg.error?.message ?? "no value"}`));
      finish(undefined, JSON.parse(value) as HeapReading);
    });
  });
}
