import { useEffect, useRef, useState } from "preact/hooks";
import type { DeviceInfo } from "../../../protocol/api.js";
import type { SwitchState } from "../../../protocol/key-switch.js";
import { switchNote } from "../../../protocol/switch-note.js";
import { call } from "../api.js";
import { Alert, PageHeading, Table, Time } from "../components.js";
import { DEVICE_LIST_EVENTS, deviceListMemory, Pager, useDeviceList } from "../device-list.js";
import { useLiveMode, useResource, useTitle } from "../hooks.js";
import { adminHref, deviceHref } from "../router.js";
import { API } from "../routes.js";
import type { PortalSession } from "../types.js";
import { DeviceFilters } from "./device-filters.js";

/** "online"/"offline" as text (with a coloured badge, never colour alone), and what the machine's key switch says. */
export function OnlineBadge({ online, keySwitch = null }: { online: boolean; keySwitch?: SwitchState | null }) {
  const note = switchNote(online, keySwitch);
  return (
    <>
      <span class={online ? "badge online" : "badge offline"}>{online ? "online" : "offline"}</span>
      {note && <span class="badge switched"> {note}</span>}
    </>
  );
}

/** Says how the page stays current, so people know whether to trust what they see. */
export function LiveNote() {
  const mode = useLiveMode();
  const text =
    mode === "live" ? "Updates live." : mode === "polling" ? "Live updates unavailable; refreshing every 10 seconds." : "Connecting for live updates…";
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
    const changes = devices
      .filter((d) => before.has(d.name) && before.get(d.name) !== d.online)
      .map((d) => `${d.name} is now ${d.online ? "online" : "offline"}.`);
    // Past a handful (a relay restarting), a count says more than a list read aloud.
    if (changes.length > 5) setText(`${changes.length} devices changed state.`);
    else if (changes.length > 0) setText(changes.join(" "));
  }, [devices]);
  return text;
}

// Kept while the portal is open, so going to a device and back keeps the search.
const remembered = deviceListMemory();

/** GET /api/v1/devices as a searchable, filtered, sorted table in pages that follows `devices` events. */
export function DevicesPage({ session }: { session: PortalSession }) {
  useTitle("Devices");
  const devices = useResource((signal) => call<DeviceInfo[]>(API.devices, { signal }), [], ["devices"], DEVICE_LIST_EVENTS);
  const announcement = useChangeAnnouncer(devices.data);
  const all = devices.data ?? [];
  const view = useDeviceList(devices.data, remembered);
  const { rows, filtered } = view;

  return (
    <>
      <PageHeading>Devices</PageHeading>
      <LiveNote />
      <div class="visually-hidden" aria-live="polite">
        {announcement}
      </div>
      <Alert message={devices.error} />
      {devices.data === undefined && !devices.error && <p>Loading devices…</p>}
      {devices.data && all.length > 0 && <DeviceFilters query={view.query} pools={view.pools} onQuery={view.setQuery} />}
      {devices.data && (
        <>
          <p class="result-count" role="status">
            {view.summary}
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
                  <OnlineBadge online={d.online} keySwitch={d.switch} />
                </td>
                <td>
                  <Time iso={d.lastSeen} never="never" />
                </td>
                <td>{d.relay ?? ""}</td>
                <td>{d.lan.join(", ")}</td>
              </tr>
            ))}
          </Table>
          <Pager view={view} />
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
