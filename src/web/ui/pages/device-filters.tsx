import { SelectField, TextField } from "../components.js";
import { DEVICE_SORTS, type DeviceQuery, type DeviceSort } from "../device-filter.js";

const STATUS_OPTIONS = [
  { value: "all", label: "Any" },
  { value: "online", label: "Online" },
  { value: "offline", label: "Offline" },
];

/** The Devices page's search form; every change applies at once (no submit). */
export function DeviceFilters({ query, pools, onQuery }: { query: DeviceQuery; pools: readonly string[]; onQuery: (query: DeviceQuery) => void }) {
  const set =
    <K extends keyof DeviceQuery>(key: K) =>
    (value: string) =>
      onQuery({ ...query, [key]: value });
  return (
    // biome-ignore lint/a11y/useSemanticElements: a form with the search role; the <search> element is too new for the browsers supported
    <form class="filters" role="search" aria-label="Find devices" onSubmit={(e) => e.preventDefault()}>
      <TextField
        label="Search"
        type="search"
        value={query.text}
        onValue={set("text")}
        hint="Name, address, relay, pool or LAN range"
        autoComplete="off"
        spellcheck={false}
      />
      <SelectField label="Status" value={query.status} onValue={set("status")} options={STATUS_OPTIONS} />
      <SelectField label="Pool" value={query.pool} onValue={set("pool")} options={[{ value: "", label: "Any pool" }, ...pools]} />
      <TextField label="LAN" value={query.lan} onValue={set("lan")} hint="An IP address in its ranges" autoComplete="off" spellcheck={false} />
      <SelectField
        label="Sort by"
        value={query.sort}
        onValue={(v) => onQuery({ ...query, sort: v as DeviceSort })}
        options={(Object.keys(DEVICE_SORTS) as DeviceSort[]).map((k) => ({ value: k, label: DEVICE_SORTS[k] }))}
      />
    </form>
  );
}
