import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { isAbort, messageOf } from "./api.js";
import { type LiveEvent, type LiveMode, subscribe, watchMode } from "./events.js";

/** Data loaded from the API, kept while a reload runs so the page does not flicker. */
export interface Resource<T> {
  data: T | undefined;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

/** How often events may reload a resource. */
export interface ResourceOptions {
  /**
   * Least time from one event-driven load's start to the next (0: none). For big lists: a
   * relay restart sends an event per device, and each would fetch the whole list again.
   */
  minEventGapMs?: number;
}

/**
 * Loads `load()` now, whenever `deps` change, and on each of `events`. Loads never overlap: an
 * event during a load schedules exactly one more.
 */
export function useResource<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: readonly unknown[],
  events: readonly LiveEvent[] = [],
  options: ResourceOptions = {},
): Resource<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const state = useRef({ running: false, again: false, controller: new AbortController() });
  const loadRef = useRef(load);
  loadRef.current = load;

  const run = useCallback(async (): Promise<void> => {
    const s = state.current;
    if (s.running) {
      s.again = true;
      return;
    }
    s.running = true;
    setLoading(true);
    const controller = s.controller;
    try {
      do {
        s.again = false;
        try {
          const value = await loadRef.current(controller.signal);
          if (controller.signal.aborted) return;
          setData(() => value);
          setError(null);
        } catch (err) {
          if (isAbort(err) || controller.signal.aborted) return;
          setError(messageOf(err));
        }
      } while (s.again);
    } finally {
      if (s.controller === controller) {
        s.running = false;
        setLoading(false);
      }
    }
  }, []);

  useEffect(() => {
    const s = state.current;
    s.controller.abort();
    s.controller = new AbortController();
    s.running = false;
    s.again = false;
    setData(undefined);
    void run();
    return () => s.controller.abort();
  }, deps);

  const eventKey = events.join(",");
  const gapMs = options.minEventGapMs ?? 0;
  useEffect(() => {
    if (events.length === 0) return undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let lastMs = -Infinity;
    const onEvent = (): void => {
      if (timer !== undefined) return;
      const wait = lastMs + gapMs - Date.now();
      const go = (): void => {
        timer = undefined;
        lastMs = Date.now();
        void run();
      };
      if (wait <= 0) go();
      else timer = setTimeout(go, wait);
    };
    const unsubscribe = subscribe(events, onEvent);
    return () => {
      unsubscribe();
      clearTimeout(timer);
    };
  }, [eventKey, gapMs]);

  return { data, error, loading, reload: () => void run() };
}

/** A user action in progress: `run` marks it busy, and shows its error until the next run. */
export interface Action {
  busy: boolean;
  error: string | null;
  run: (work: () => Promise<void>) => Promise<boolean>;
  clear: () => void;
}

/** Runs one action at a time and keeps its error message for an alert region. */
export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const mounted = useRef(true);
  useEffect(
    () => () => {
      mounted.current = false;
    },
    [],
  );
  const run = async (work: () => Promise<void>): Promise<boolean> => {
    setBusy(true);
    setError(null);
    try {
      await work();
      return true;
    } catch (err) {
      if (mounted.current) setError(messageOf(err));
      return false;
    } finally {
      if (mounted.current) setBusy(false);
    }
  };
  return { busy, error, run, clear: () => setError(null) };
}

/** How live updates arrive right now. */
export function useLiveMode(): LiveMode {
  const [mode, setMode] = useState<LiveMode>("connecting");
  useEffect(() => watchMode(setMode), []);
  return mode;
}

/** Sets the document title for the page. */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Fernlink`;
  }, [title]);
}
