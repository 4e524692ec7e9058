import type { ServerHttp2Session } from "node:http2";
import { errorMessage } from "../protocol/errors.js";

/**
 * Resolves, with the reason in words, when a tunnel is over: its HTTP/2 session closed, or
 * its socket did (a session torn down by nghttp2 does not always say "close" first, and an
 * agent that waited only for that would find its event loop empty and exit in silence).
 */
export function tunnelEnded(session: ServerHttp2Session): Promise<string> {
  let reason: string | undefined;
  const note = (why: string): void => {
    reason ??= why;
  };
  session.on("goaway", (code: number) => note(`the relay sent GOAWAY (HTTP/2 error code ${code})`));
  session.on("error", (err) => note(errorMessage(err)));
  session.on("frameError", (type: number, code: number) => note(`HTTP/2 frame error (frame type ${type}, code ${code})`));
  session.socket?.on("error", (err) => note(errorMessage(err)));
  return new Promise((resolve) => {
    const done = (): void => resolve(reason ?? (session.socket?.errored ? errorMessage(session.socket.errored) : "the relay closed the connection"));
    if (session.closed || session.destroyed || !session.socket || session.socket.destroyed) return done();
    session.once("close", done);
    session.socket.once("close", done);
  });
}
