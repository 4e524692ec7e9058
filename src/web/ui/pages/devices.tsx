import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { call } from "../api.js";
import { Alert, PageHeading, Table, Time } from "../components.js";
import { ALL_DEVICES, filterDevices, poolsOf, type DeviceQuery } from "../device-filter.js";
import { useLiveMode, useResource, useTitle } from "../hooks.js";
import { API } from "../routes.js";
import { adminHref, deviceHref } from "../router.js";
import type { DeviceInfo } from "../../../protocol/api.js";
import type { PortalSession } from "../types.js";
import { DeviceFilters } from "./device-filters.js";

/** Rows per page: enough to scan, few enough that thousands of devices render at once. */
const PAGE_SIZE = 50;

/** "online"/"offline" as text (with a coloured badge, never colour alone). */
export function OnlineBadge({ online }: { online: boolean }) {
  return <span class={online ? "badge online" : "badge offline"}>{online ? "online" : "offline"}</span>;
}

/** Says how the page stays current, so people know whether to trust what they see. */
export function LiveNote() {
  const mode = useLiveMode();
  const text = mode === "live" ? "Updates live." : mode === "polling" ? "Live updates unavailable; refreshing every 10 seconds." : "Connecting for live updates…";
  return <p class="live-note">{text}</p>;
}

/** Announces devices that went online or offline since the last refresh (aria-live). */
function useChangeAnnouncer(devices: readonly DeviceInfo[] | undefined): string {
  const previous = useRef<Map<string, boolean> | null>(null);
  const [text, setText] = useState("");
  useEffect(() => {
    if (!devices) return;
    const now = new Map(devices.map((d) => [d.name, d.online]));
    const before = previous.current;
    previous.current = now;
    if (!before) return;
    const changes = devices.filter((d) => before.has(d.name) && before.get(d.name) !== d.online).map((d) => `${d.name} is now ${d.online ? "online" : "offline"}.`);
    // Past a handful (a relay restarting), a count says more than a list read aloud.
    if (changes.length > 5) setText(`${changes.length} devices changed state.`);
    else if (changes.length > 0) setText(changes.join(" "));
  }, [devices]);
  return text;
}

// Kept while the page is open, so going to a device and back keeps the search.
let lastQuery: DeviceQuery = ALL_DEVICES;
let lastPage = 0;

function Pager({ page, pages, onPage }: { page: number; pages: number; onPage: (page: number) => void }) {
  if (pages <= 1) return null;
  return (
    <nav class="pager" aria-label="Pages of devices">
      <button type="button" disabled={page === 0} onClick={() => onPage(page - 1)}>
        Previous page
      </button>
      <span>
        Page {page + 1} of {pages}
      </span>
      <button type="button" disabled={page >= pages - 1} onClick={() => onPage(page + 1)}>
        Next page
      </button>
    </nav>
  );
}

/** GET /api/v1/devices as a searchable, filtered, sorted table in pages that follows `devices` events. */
export function DevicesPage({ session }: { session: PortalSession }) {
  useTitle("Devices");
  const devices = useResource((signal) => call<DeviceInfo[]>(API.devices, { signal }), [], ["devices"]);
  const announcement = useChangeAnnouncer(devices.data);
  const [query, setQuery] = useState(lastQuery);
  const [page, setPage] = useState(lastPage);
  const all = devices.data ?? [];
  const shown = useMemo(() => filterDevices(all, query), [all, query]);
  const pools = useMemo(() => poolsOf(all), [all]);
  const pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
  const current = Math.min(page, pages - 1);
  const rows = shown.slice(current * PAGE_SIZE, (current + 1) * PAGE_SIZE);
  lastQuery = query;
  lastPage = current;
  const change = (next: DeviceQuery): void => {
    setQuery(next);
    setPage(0);
  };
  const filtered = shown.length !== all.length;
  const summary = `${filtered ? `${shown.length.toLocaleString("en-US")} of ` : ""}${all.length.toLocaleString("en-US")} ${all.length === 1 ? "device" : "devices"}${
    shown.length > PAGE_SIZE ? `, ${(current * PAGE_SIZE + 1).toLocaleString("en-US")} to ${(current * PAGE_SIZE + rows.length).toLocaleString("en-US")} shown` : ""
  }`;

  return (
    <>
      <PageHeading>Devices</PageHeading>
      <LiveNote />
      <div class="visually-hidden" aria-live="polite">
        {announcement}
      </div>
      <Alert message={devices.error} />
      {devices.data === undefined && !devices.error && <p>Loading devices…</p>}
      {devices.data && all.length > 0 && <DeviceFilters query={query} pools={pools} onQuery={change} />}
      {devices.data && (
        <>
          <p class="result-count" role="status">
            {summary}
          </p>
          <Table
            caption={`Devices of account ${session.account}`}
            head={["Name", "Status", "Last seen", "Relay", "LAN ranges"]}
            empty={rows.length === 0 ? (filtered ? "No device matches." : "No devices to show.") : false}
          >
            {rows.map((d) => (
              <tr key={d.name}>
                <th scope="row">
                  <a href={deviceHref(d.name)}>{d.name}</a>
                </th>
                <td>
                  <OnlineBadge online={d.online} />
                </td>
                <td>
                  <Time iso={d.lastSeen} never="never" />
                </td>
                <td>{d.relay ?? ""}</td>
                <td>{d.lan.join(", ")}</td>
              </tr>
            ))}
          </Table>
          <Pager page={current} pages={pages} onPage={setPage} />
        </>
      )}
      {devices.data && all.length === 0 && session.role === "admin" && (
        <p>
          Add one under <a href={adminHref("devices")}>Manage devices</a>.
        </p>
      )}
    </>
  );
}
