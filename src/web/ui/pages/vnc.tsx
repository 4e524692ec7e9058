import { useEffect, useRef, useState } from "preact/hooks";
import type { DeviceInfo } from "../../../protocol/api.js";
import { call, path } from "../api.js";
import { Alert, PageHeading } from "../components.js";
import { withReason } from "../connect-reason.js";
import { offlineMessage } from "../format.js";
import { useTitle } from "../hooks.js";
import { deviceHref } from "../router.js";
import { API } from "../routes.js";
import { knownTarget } from "../targets-memo.js";
import type { Viewer, ViewerState } from "../vnc-viewer.js";

/** The WebSocket the server answers for a VNC target, on the portal's own origin. */
export function vncSocketUrl(id: string): string {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return withReason(`${scheme}://${location.host}${path(API.vnc, { id })}`);
}

function statusText(s: ViewerState): string {
  if (s.state === "connecting") return "Connecting…";
  if (s.state === "connected") return s.desktop ? `Connected to ${s.desktop}` : "Connected";
  return s.reason ? `Disconnected: ${s.reason}` : "Disconnected";
}

/** The keys that take focus out of the screen, which otherwise receives every key (Tab too). */
const LEAVE_KEYS = "Ctrl+Alt+Shift+Escape";

/** The VNC viewer: noVNC on a WebSocket to the server, which does the VNC authentication itself. */
export function VncPage({ id }: { id: string }) {
  useTitle("VNC viewer");
  const known = knownTarget(id);
  const screenRef = useRef<HTMLDivElement>(null);
  const controlsRef = useRef<HTMLButtonElement>(null);
  const viewer = useRef<Viewer | null>(null);
  const [state, setState] = useState<ViewerState>({ state: "connecting" });
  const [loadError, setLoadError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const screen = screenRef.current;
    if (!screen) return undefined;
    let cancelled = false;
    setState({ state: "connecting" });
    import("../vnc-viewer.js").then(
      ({ startViewer }) => {
        if (cancelled) return;
        viewer.current = startViewer(screen, vncSocketUrl(id), (s) => !cancelled && setState(s));
        viewer.current.focus();
      },
      () => setLoadError("The viewer could not be loaded; reload the page."),
    );
    return () => {
      cancelled = true;
      viewer.current?.disconnect();
      viewer.current = null;
      // noVNC leaves its canvas behind; the next attempt starts from an empty box.
      screen.replaceChildren();
    };
  }, [id, attempt]);

  // A refused WebSocket carries no reason the page can read: say so when the device is offline.
  const [offline, setOffline] = useState<string | null>(null);
  useEffect(() => {
    setOffline(null);
    if (state.state !== "disconnected" || !known) return undefined;
    let current = true;
    call<DeviceInfo>(path(API.device, { name: known.device })).then(
      (d) => current && !d.online && setOffline(offlineMessage(d.name, d.lastSeen)),
      () => undefined,
    );
    return () => {
      current = false;
    };
  }, [state.state]);

  // The screen swallows all keys; this one combination brings focus back to the page's controls.
  const onKeyDownCapture = (e: KeyboardEvent): void => {
    if (e.key === "Escape" && e.ctrlKey && e.altKey && e.shiftKey) {
      e.preventDefault();
      e.stopPropagation();
      controlsRef.current?.focus();
    }
  };

  const connected = state.state === "connected";
  const ended = state.state === "disconnected";
  return (
    <>
      {known && (
        <p class="breadcrumb">
          <a href={deviceHref(known.device)}>Back to {known.device}</a>
        </p>
      )}
      <PageHeading focus={false}>VNC viewer</PageHeading>
      {known && (
        <p class="muted">
          {known.target.name} on {known.device}
        </p>
      )}
      <Alert message={loadError} />
      {offline && <p class="notice offline-notice">{offline}</p>}
      <div class="toolbar">
        <p role="status" aria-live="polite" class={`vnc-status ${state.state}`}>
          {statusText(state)}
        </p>
        <button type="button" ref={controlsRef} onClick={() => viewer.current?.ctrlAltDel()} disabled={!connected}>
          Ctrl+Alt+Del
        </button>
        {ended ? (
          <button type="button" class="primary" onClick={() => setAttempt((n) => n + 1)}>
            Reconnect
          </button>
        ) : (
          <button type="button" onClick={() => viewer.current?.disconnect()}>
            Disconnect
          </button>
        )}
      </div>
      <div class="vnc-screen" ref={screenRef} role="application" aria-label="Remote screen" aria-describedby="vnc-keys" onKeyDownCapture={onKeyDownCapture} />
      <p id="vnc-keys" class="hint">
        The remote screen receives every key you press, Tab included. Press {LEAVE_KEYS} to return to the controls above.
      </p>
    </>
  );
}
