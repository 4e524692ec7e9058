import { useEffect, useState } from "preact/hooks";
import type { AuditRecord } from "../../../protocol/api.js";
import { auditCsv } from "../../../shared/report-csv.js";
import { call } from "../api.js";
import { Alert, PageHeading, Status, Table, TextField, Time } from "../components.js";
import { downloadText, stampedName } from "../download.js";
import { formatBytes, localInputToIso, localZoneName } from "../format.js";
import { useAction, useTitle } from "../hooks.js";
import { API } from "../routes.js";

/** Most records one request asks for (the API's MAX_PAGE). */
const MAX_PAGE = 1000;

interface Filters {
  since: string;
  user: string;
  device: string;
  limit: string;
}

function queryOf(f: Filters, before?: number): Record<string, string | number | undefined> {
  const limit = Math.min(MAX_PAGE, Math.max(1, Number.parseInt(f.limit, 10) || 50));
  return { since: localInputToIso(f.since), user: f.user.trim() || undefined, device: f.device.trim() || undefined, limit, before };
}

/** The audit log: filters as GET /api/v1/audit takes them, newest first, paged, and a CSV download. */
export function AuditPage() {
  useTitle("Audit log");
  const [filters, setFilters] = useState<Filters>({ since: "", user: "", device: "", limit: "50" });
  const [records, setRecords] = useState<AuditRecord[] | null>(null);
  const [more, setMore] = useState(false);
  const [note, setNote] = useState<string | null>(null);
  const action = useAction();
  const set =
    (key: keyof Filters) =>
    (value: string): void =>
      setFilters((f) => ({ ...f, [key]: value }));

  const load = (append: boolean): void =>
    void action.run(async () => {
      const before = append ? records?.at(-1)?.seq : undefined;
      const query = queryOf(filters, before);
      const page = await call<AuditRecord[]>(API.audit, { query });
      const all = append && records ? [...records, ...page] : page;
      setRecords(all);
      setMore(page.length === query["limit"]);
      setNote(`${all.length} record(s) shown.`);
    });

  // The newest records when the page opens.
  useEffect(() => load(false), []);

  return (
    <>
      <PageHeading>Audit log</PageHeading>
      <form
        class="card filters"
        aria-label="Audit filters"
        onSubmit={(e) => {
          e.preventDefault();
          load(false);
        }}
      >
        <TextField
          label="Since"
          type="datetime-local"
          step={1}
          value={filters.since}
          onValue={set("since")}
          hint={`Your local time (${localZoneName()}); empty for all.`}
        />
        <TextField label="User" value={filters.user} onValue={set("user")} autoComplete="off" autoCapitalize="none" spellcheck={false} />
        <TextField label="Device" value={filters.device} onValue={set("device")} autoComplete="off" autoCapitalize="none" spellcheck={false} />
        <TextField label="Limit" type="number" inputMode="numeric" min={1} max={MAX_PAGE} value={filters.limit} onValue={set("limit")} />
        <button type="submit" class="primary" disabled={action.busy}>
          Show records
        </button>
      </form>
      <Alert message={action.error} />
      <div class="toolbar">
        <Status>{note}</Status>
        <button
          type="button"
          onClick={() => records && downloadText(stampedName("audit", "csv"), auditCsv(records))}
          disabled={!records || records.length === 0}
        >
          Download CSV
        </button>
      </div>
      {records && (
        <Table
          caption="Audit records, newest first"
          head={["Seq", "Time", "Actor", "Source", "Action", "Object", "Result", "Device", "Target", "Up", "Down", "Reason"]}
          empty={records.length === 0 && "No records match."}
        >
          {records.map((r) => (
            <tr key={r.seq} class={r.result === "ok" ? undefined : `result-${r.result}`}>
              <td>{r.seq}</td>
              <td>
                <Time iso={r.at} />
              </td>
              <td>{r.token === null ? (r.actor ?? "") : `${r.actor ?? ""} (token ${r.token})`}</td>
              <td>{r.source ?? ""}</td>
              <td>{r.action}</td>
              <td class="wrap">{r.object ?? ""}</td>
              <td>{r.result}</td>
              <td>{r.device ?? ""}</td>
              <td>{r.target ?? ""}</td>
              <td>{formatBytes(r.bytesUp)}</td>
              <td>{formatBytes(r.bytesDown)}</td>
              <td class="reason">{r.count === undefined ? (r.reason ?? "") : `${r.count}× ${r.reason ?? ""}`}</td>
            </tr>
          ))}
        </Table>
      )}
      {more && (
        <button type="button" onClick={() => load(true)} disabled={action.busy}>
          Load older records
        </button>
      )}
    </>
  );
}
