import { API } from "./routes.js";

/**
 * Live updates from GET /api/v1/events (server-sent events). One EventSource is shared by every
 * page that listens and closed when none does. When it fails, listeners are called every 10 s
 * instead (so lists still refresh) while the stream is tried again with a growing delay.
 */

/** The events the server sends; each means "refetch the lists that show this". */
export type LiveEvent = "devices" | "streams" | "bytes";

/** How the page currently learns about changes. */
export type LiveMode = "connecting" | "live" | "polling";

const EVENTS: readonly LiveEvent[] = ["devices", "streams", "bytes"];
const POLL_MS = 10_000;
const RETRY_MIN_MS = 5_000;
const RETRY_MAX_MS = 60_000;

interface Listener {
  events: readonly LiveEvent[];
  fn: () => void;
}

const listeners = new Set<Listener>();
const modeListeners = new Set<(mode: LiveMode) => void>();
let source: EventSource | null = null;
let mode: LiveMode = "connecting";
let pollTimer: number | undefined;
let retryTimer: number | undefined;
let retryMs = RETRY_MIN_MS;

function setMode(next: LiveMode): void {
  if (next === mode) return;
  mode = next;
  for (const fn of modeListeners) fn(mode);
}

function emit(events: readonly LiveEvent[]): void {
  for (const l of [...listeners]) if (l.events.some((e) => events.includes(e))) l.fn();
}

function startPolling(): void {
  if (pollTimer === undefined) pollTimer = window.setInterval(() => emit(EVENTS), POLL_MS);
}

function stopPolling(): void {
  if (pollTimer !== undefined) window.clearInterval(pollTimer);
  pollTimer = undefined;
}

function open(): void {
  retryTimer = undefined;
  if (typeof EventSource === "undefined") {
    setMode("polling");
    startPolling();
    return;
  }
  const es = new EventSource(API.events);
  source = es;
  es.addEventListener("open", () => {
    retryMs = RETRY_MIN_MS;
    stopPolling();
    setMode("live");
    // Changes made while the stream was down were missed: refetch once.
    emit(EVENTS);
  });
  for (const name of EVENTS) es.addEventListener(name, () => emit([name]));
  es.addEventListener("error", () => {
    setMode("polling");
    startPolling();
    // CONNECTING: the browser retries by itself. CLOSED (an HTTP error, say): we retry, later each time.
    if (es.readyState === EventSource.CLOSED && source === es) {
      source = null;
      // Refused outright (the session may have ended): refetch now rather than at the next poll.
      emit(EVENTS);
      retryTimer = window.setTimeout(open, retryMs);
      retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
    }
  });
}

function close(): void {
  source?.close();
  source = null;
  stopPolling();
  if (retryTimer !== undefined) window.clearTimeout(retryTimer);
  retryTimer = undefined;
  retryMs = RETRY_MIN_MS;
  setMode("connecting");
}

/** Calls `fn` whenever one of `events` arrives (or on each poll); returns the unsubscribe function. */
export function subscribe(events: readonly LiveEvent[], fn: () => void): () => void {
  const listener: Listener = { events, fn };
  listeners.add(listener);
  if (listeners.size === 1) open();
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0) close();
  };
}

/** Tells `fn` how updates arrive now and on each change; returns the unsubscribe function. */
export function watchMode(fn: (mode: LiveMode) => void): () => void {
  modeListeners.add(fn);
  fn(mode);
  return () => modeListeners.delete(fn);
}
