import RFB from "@novnc/novnc";

/**
 * The noVNC side of the VNC page, loaded only there (a separate chunk). The server does the VNC
 * authentication and offers the browser security type None: no VNC password ever reaches the page.
 */

/** What the viewer reports to the page. */
export type ViewerState = { state: "connecting" } | { state: "connected"; desktop: string | null } | { state: "disconnected"; reason: string | null };

/** A running viewer. */
export interface Viewer {
  disconnect(): void;
  ctrlAltDel(): void;
  focus(): void;
}

/** Connects `screen` to the WebSocket at `url` and reports each state change to `report`. */
export function startViewer(screen: HTMLElement, url: string, report: (s: ViewerState) => void): Viewer {
  // Our own socket, so the close code and reason the server gives can be shown.
  const socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  let closeReason: string | null = null;
  let securityReason: string | null = null;
  let desktop: string | null = null;
  let ended = false;
  let userEnded = false;

  const reportEnd = (clean: boolean): void => {
    const reason = securityReason ?? closeReason ?? (userEnded ? null : clean ? "the remote screen closed the connection" : "the connection was lost");
    report({ state: "disconnected", reason });
  };

  socket.addEventListener("close", (e) => {
    if (e.reason) closeReason = e.reason;
    else if (e.code === 1006 && !userEnded) closeReason = "the connection failed or was refused";
    // noVNC may have reported the end before the socket's own close event: refine the reason.
    if (ended) reportEnd(e.wasClean);
  });

  report({ state: "connecting" });
  const rfb = new RFB(screen, socket, { shared: true });
  rfb.scaleViewport = true;
  rfb.resizeSession = false;
  rfb.focusOnClick = true;
  rfb.background = "#1f2937";

  rfb.addEventListener("connect", () => {
    report({ state: "connected", desktop });
    rfb.focus();
  });
  rfb.addEventListener("desktopname", (e) => {
    desktop = (e as CustomEvent<{ name: string }>).detail.name || null;
    if (!ended) report({ state: "connected", desktop });
  });
  rfb.addEventListener("securityfailure", (e) => {
    const detail = (e as CustomEvent<{ status: number; reason?: string }>).detail;
    // The portal's own refusals (access, offline device, VNC login failed) arrive here with their message.
    securityReason = detail.reason || "the connection was refused";
  });
  rfb.addEventListener("credentialsrequired", () => {
    // The server should have authenticated already; never ask the user for a VNC password here.
    securityReason = "the remote screen asked for a password the portal does not handle";
    rfb.disconnect();
  });
  rfb.addEventListener("disconnect", (e) => {
    ended = true;
    reportEnd((e as CustomEvent<{ clean: boolean }>).detail.clean);
  });

  return {
    disconnect: () => {
      userEnded = true;
      if (!ended) rfb.disconnect();
    },
    ctrlAltDel: () => {
      if (!ended) rfb.sendCtrlAltDel();
      rfb.focus();
    },
    focus: () => rfb.focus(),
  };
}
