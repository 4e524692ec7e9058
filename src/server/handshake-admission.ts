import type { TLSSocket } from "node:tls";
import { ALPN } from "../protocol/alpn.js";

/** What a TLS handshake is for, as its ClientHello's ALPN list says. */
export type HandshakeKind = "agent" | "other";

/**
 * Counts TLS handshakes in progress (from the ClientHello to the finished handshake or the
 * close) and refuses agents' handshakes while `max` are under way. After a relay restart
 * thousands of agents return within seconds; handshakes admitted without a cap queue on the
 * one event loop until they time out, and every timed-out one was work for nothing. Refused
 * at once, an agent backs off and comes back later, while the admitted ones finish quickly.
 * Users' and browsers' handshakes are counted (they take the same CPU) but never refused
 * here: the per-source limit guards those.
 */
export class HandshakeAdmission {
  private inProgress = 0;

  constructor(readonly max: number) {}

  /**
   * Takes a place for a handshake that sent its ClientHello. Returns the function that gives
   * it back (calling it more than once is harmless), or undefined for an agent refused now.
   */
  begin(kind: HandshakeKind): (() => void) | undefined {
    if (kind === "agent" && this.inProgress >= this.max) return undefined;
    this.inProgress++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.inProgress--;
    };
  }

  /** Handshakes now under way. */
  get count(): number {
    return this.inProgress;
  }
}

/** The ALPN callback of a TLS server whose handshakes `handshakes` counts. */
export type AdmittingAlpn = (this: TLSSocket, hello: { protocols: string[] }) => string | undefined;

/**
 * An ALPNCallback that picks the protocol as ALPNProtocols would (the server's `preference`) and
 * is the moment a real ClientHello arrived: from here to the finished handshake (or the close)
 * it holds a place in `handshakes`. An agent's handshake refused now gets no protocol, i.e. the
 * no_application_protocol alert, which agents take for "busy, back off"; `refused` hears it.
 */
export function admittingAlpn(preference: readonly string[], handshakes: HandshakeAdmission, refused: () => void): AdmittingAlpn {
  return function (this: TLSSocket, { protocols }) {
    const chosen = preference.find((p) => protocols.includes(p));
    const release = handshakes.begin(chosen === ALPN.agent ? "agent" : "other");
    if (!release) {
      refused();
      return undefined;
    }
    this.once("secure", release).once("close", release);
    return chosen;
  };
}
