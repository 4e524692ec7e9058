import { call } from "../api.js";
import { Alert, PageHeading, Table, Time } from "../components.js";
import { formatDuration } from "../format.js";
import { useResource, useTitle } from "../hooks.js";
import { API } from "../routes.js";
import type { ServerStatus } from "../types.js";

/** The server's state: version, uptime, relays, connected agents and open streams. */
export function StatusPage() {
  useTitle("Status");
  const status = useResource((signal) => call<ServerStatus>(API.status, { signal }), [], ["devices", "streams"]);
  const s = status.data;
  return (
    <>
      <PageHeading>Status</PageHeading>
      <Alert message={status.error} />
      {s && (
        <>
          <dl class="details">
            <dt>Version</dt>
            <dd>{s.version}</dd>
            <dt>Running since</dt>
            <dd>
              <Time iso={s.startedAt} />
            </dd>
            <dt>Uptime</dt>
            <dd>{formatDuration(s.uptimeSeconds * 1000)}</dd>
            <dt>Agents connected</dt>
            <dd>{s.agents}</dd>
            <dt>Open streams</dt>
            <dd>{s.streams}</dd>
          </dl>
          <Table caption="Relays" head={["Relay", "Device connections", "Streams"]} empty={s.relays.length === 0 && "No relays."}>
            {s.relays.map((r) => (
              <tr key={r.id}>
                <th scope="row">{r.id}</th>
                <td>{r.tunnels}</td>
                <td>{r.streams}</td>
              </tr>
            ))}
          </Table>
        </>
      )}
    </>
  );
}
