/**
 * The browser code imports protocol *types* only (`import type`, erased from the bundle). Type-checking
 * them still walks the protocol modules, a few of which use node:net at run time on the server; this
 * declares the one function they use so the browser build needs no Node typings.
 */
declare module "node:net" {
  export function isIP(input: string): number;
}

/** noVNC ships no typings: the part of its RFB API the viewer uses (docs/API.md of @novnc/novnc 1.7). */
declare module "@novnc/novnc" {
  export interface RfbOptions {
    shared?: boolean;
    credentials?: { username?: string; password?: string; target?: string };
    wsProtocols?: string[];
  }
  export default class RFB extends EventTarget {
    constructor(target: HTMLElement, urlOrChannel: string | WebSocket, options?: RfbOptions);
    scaleViewport: boolean;
    resizeSession: boolean;
    clipViewport: boolean;
    focusOnClick: boolean;
    viewOnly: boolean;
    background: string;
    qualityLevel: number;
    compressionLevel: number;
    disconnect(): void;
    sendCtrlAltDel(): void;
    focus(options?: FocusOptions): void;
    blur(): void;
  }
}
