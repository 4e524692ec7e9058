import { useMemo, useState } from "preact/hooks";
import type { DeviceInfo } from "../../protocol/api.js";
import { ALL_DEVICES, type DeviceQuery, filterDevices, poolsOf } from "./device-filter.js";

/**
 * The whole list is fetched again at most every 2 s on `devices` events: a relay restart sends
 * one per device, thousands in a minute.
 */
export const DEVICE_LIST_EVENTS = { minEventGapMs: 2_000 } as const;

/** Rows per page: enough to scan, few enough that thousands of devices render at once. */
export const PAGE_SIZE = 50;

/** Where a device list was left (search and page), kept by its page while the portal is open. */
export interface DeviceListMemory {
  query: DeviceQuery;
  page: number;
}

/** A fresh memory: everything, first page. */
export function deviceListMemory(): DeviceListMemory {
  return { query: ALL_DEVICES, page: 0 };
}

/** One page of the devices matching the search, with what the page shows around it. */
export interface DeviceListView {
  query: DeviceQuery;
  /** Sets the search and goes back to the first page. */
  setQuery: (query: DeviceQuery) => void;
  rows: DeviceInfo[];
  pools: string[];
  /** True when the search leaves devices out. */
  filtered: boolean;
  /** "500 of 5,001 devices, 51 to 100 shown". */
  summary: string;
  page: number;
  pages: number;
  setPage: (page: number) => void;
}

const count = (n: number): string => n.toLocaleString("en-US");

const NONE: readonly DeviceInfo[] = [];

/** Searches, orders and pages `loaded` (undefined while loading), remembering the search in `memory`. */
export function useDeviceList(loaded: readonly DeviceInfo[] | undefined, memory: DeviceListMemory): DeviceListView {
  // One empty list while loading, so the memos below keep their value.
  const all = loaded ?? NONE;
  const [query, setQueryState] = useState(memory.query);
  const [page, setPage] = useState(memory.page);
  const shown = useMemo(() => filterDevices(all, query), [all, query]);
  const pools = useMemo(() => poolsOf(all), [all]);
  const pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
  const current = Math.min(page, pages - 1);
  const rows = shown.slice(current * PAGE_SIZE, (current + 1) * PAGE_SIZE);
  memory.query = query;
  memory.page = current;
  const filtered = shown.length !== all.length;
  const range = shown.length > PAGE_SIZE ? `, ${count(current * PAGE_SIZE + 1)} to ${count(current * PAGE_SIZE + rows.length)} shown` : "";
  const summary = `${filtered ? `${count(shown.length)} of ` : ""}${count(all.length)} ${all.length === 1 ? "device" : "devices"}${range}`;
  const setQuery = (next: DeviceQuery): void => {
    setQueryState(next);
    setPage(0);
  };
  return { query, setQuery, rows, pools, filtered, summary, page: current, pages, setPage };
}

/** Previous and next page buttons with "Page 2 of 10"; nothing for a single page. */
export function Pager({ view }: { view: DeviceListView }) {
  if (view.pages <= 1) return null;
  return (
    <nav class="pager" aria-label="Pages of devices">
      <button type="button" disabled={view.page === 0} onClick={() => view.setPage(view.page - 1)}>
        Previous page
      </button>
      <span>
        Page {view.page + 1} of {view.pages}
      </span>
      <button type="button" disabled={view.page >= view.pages - 1} onClick={() => view.setPage(view.page + 1)}>
        Next page
      </button>
    </nav>
  );
}
