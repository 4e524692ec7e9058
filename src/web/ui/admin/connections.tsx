import { useEffect, useState } from "preact/hooks";
import type { ConnectionRecord } from "../../../protocol/api-audit.js";
import { connectionsCsv } from "../../../shared/report-csv.js";
import { call } from "../api.js";
import { Alert, PageHeading, Status, Table, TextField, Time } from "../components.js";
import { downloadText, stampedName } from "../download.js";
import { formatBytes, formatDuration, localInputToIso, localZoneName } from "../format.js";
import { useAction, useTitle } from "../hooks.js";
import { API } from "../routes.js";

const MAX_PAGE = 1000;

/** The connection report: finished streams since a time, newest first, with a CSV download. */
export function ConnectionsPage() {
  useTitle("Connection report");
  const [since, setSince] = useState("");
  const [limit, setLimit] = useState("200");
  const [rows, setRows] = useState<ConnectionRecord[] | null>(null);
  const [more, setMore] = useState(false);
  const [note, setNote] = useState<string | null>(null);
  const action = useAction();

  const load = (append: boolean): void =>
    void action.run(async () => {
      const want = Math.min(MAX_PAGE, Math.max(1, Number.parseInt(limit, 10) || 200));
      const before = append ? rows?.at(-1)?.seq : undefined;
      const page = await call<ConnectionRecord[]>(API.connectionsReport, { query: { since: localInputToIso(since), limit: want, before } });
      const all = append && rows ? [...rows, ...page] : page;
      setRows(all);
      setMore(page.length === want);
      setNote(`${all.length} connection(s) shown.`);
    });
  useEffect(() => load(false), []);

  return (
    <>
      <PageHeading>Connection report</PageHeading>
      <form
        class="card filters"
        aria-label="Report filters"
        onSubmit={(e) => {
          e.preventDefault();
          load(false);
        }}
      >
        <TextField
          label="Since"
          type="datetime-local"
          step={1}
          value={since}
          onValue={setSince}
          hint={`Your local time (${localZoneName()}); empty for all.`}
        />
        <TextField label="Limit" type="number" inputMode="numeric" min={1} max={MAX_PAGE} value={limit} onValue={setLimit} />
        <button type="submit" class="primary" disabled={action.busy}>
          Show connections
        </button>
      </form>
      <Alert message={action.error} />
      <div class="toolbar">
        <Status>{note}</Status>
        <button
          type="button"
          onClick={() => rows && downloadText(stampedName("connections", "csv"), connectionsCsv(rows))}
          disabled={!rows || rows.length === 0}
        >
          Download CSV
        </button>
      </div>
      {rows && (
        <Table
          caption="Finished connections, newest first"
          head={["User", "Source", "Device", "Target", "Start", "Duration", "Up", "Down", "Reason", "Note"]}
          empty={rows.length === 0 && "No connections in this period."}
        >
          {rows.map((r) => (
            <tr key={r.seq}>
              <td>{r.user ?? ""}</td>
              <td>{r.source ?? ""}</td>
              <td>{r.device ?? ""}</td>
              <td>{r.target ?? ""}</td>
              <td>
                <Time iso={r.start} />
              </td>
              <td>{formatDuration(r.durationMs)}</td>
              <td>{formatBytes(r.bytesUp)}</td>
              <td>{formatBytes(r.bytesDown)}</td>
              <td>{r.reason ?? ""}</td>
              <td>{r.note ?? ""}</td>
            </tr>
          ))}
        </Table>
      )}
      {more && (
        <button type="button" onClick={() => load(true)} disabled={action.busy}>
          Load older connections
        </button>
      )}
    </>
  );
}
