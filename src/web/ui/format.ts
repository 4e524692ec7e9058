/** Display helpers: times, durations and byte counts as people read them. */

const pad = (n: number): string => String(n).padStart(2, "0");

/** The browser's short name for its zone at `d`: `UTC`, `CET`, `GMT+2`. */
let zoneFormat: Intl.DateTimeFormat | undefined;

function zoneName(d: Date): string {
  zoneFormat ??= new Intl.DateTimeFormat("en-GB", { timeZoneName: "short" });
  const part = zoneFormat.formatToParts(d).find((p) => p.type === "timeZoneName");
  return part?.value ?? "local time";
}

/** The browser's zone as people read it now: `CET`, `UTC`. */
export function localZoneName(): string {
  return zoneName(new Date());
}

/** A time in the browser's zone, with the zone: `2026-11-27 10:02:11 CET`; empty for null. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${zoneName(d)}`;
}

/** The exact time in UTC, for a tooltip beside a local time: `2026-11-27T09:02:11Z`. */
export function formatUtc(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** A duration like the CLI prints it: `42s`, `3m07s`, `2h05m00s`, `3d04h`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const [d, h, m, sec] = [Math.floor(s / 86400), Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60), s % 60];
  if (d > 0) return `${d}d${pad(h)}h`;
  return h > 0 ? `${h}h${pad(m)}m${pad(sec)}s` : m > 0 ? `${m}m${pad(sec)}s` : `${sec}s`;
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/** A byte count: `512 B`, `1.5 MiB`. */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "";
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** A `datetime-local` input's value as the ISO UTC time the API expects; undefined when empty. */
export function localInputToIso(value: string): string | undefined {
  if (!value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** The sentence for an offline device, as on the device page (switched off on site, when its key switch said so). */
export function offlineMessage(name: string, lastSeen: string | null, switchedOff = false): string {
  const state = switchedOff ? "switched off on site" : "offline";
  return lastSeen ? `${name} is ${state} (last seen ${formatTime(lastSeen)})` : `${name} is ${state} (it has never connected)`;
}

/** The text with its first letter in upper case. */
export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
