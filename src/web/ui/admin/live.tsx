import { useState } from "preact/hooks";
import { call, path } from "../api.js";
import { Alert, PageHeading, Status, Table, Time, useConfirm } from "../components.js";
import { formatBytes } from "../format.js";
import { useAction, useResource, useTitle } from "../hooks.js";
import { LiveNote } from "../pages/devices.js";
import { deviceHref } from "../router.js";
import { API } from "../routes.js";
import type { LiveStream, LiveTunnel } from "../types.js";
import { PublishedPorts } from "./published-ports.js";

/** What is connected right now: devices' control connections, data connections (closable), published ports. */
export function LivePage() {
  useTitle("Live connections");
  const tunnels = useResource(async (signal) => (await call<{ tunnels: LiveTunnel[] }>(API.liveTunnels, { signal })).tunnels, [], ["devices"]);
  const streams = useResource(async (signal) => (await call<{ streams: LiveStream[] }>(API.liveStreams, { signal })).streams, [], ["streams", "bytes"]);
  const [confirm, dialog] = useConfirm();
  const [done, setDone] = useState<string | null>(null);
  const action = useAction();

  const closeStream = async (s: LiveStream): Promise<void> => {
    if (!(await confirm(`Close the connection of ${s.user ?? "unknown user"} to ${s.target} on ${s.device}?`))) return;
    await action.run(async () => {
      await call(path(API.liveStream, { id: s.id }), { method: "DELETE" });
      setDone(`Connection of ${s.user ?? "unknown user"} to ${s.target} closed.`);
      streams.reload();
    });
  };

  return (
    <>
      <PageHeading>Live connections</PageHeading>
      <LiveNote />
      <Status>{done}</Status>
      <section aria-labelledby="live-control">
        <h2 id="live-control">Control connections</h2>
        <Alert message={tunnels.error} />
        {tunnels.data && (
          <Table
            caption="Devices connected to a relay"
            head={["Device", "Address", "Since", "Relay"]}
            empty={tunnels.data.length === 0 && "No device is connected."}
          >
            {tunnels.data.map((t) => (
              <tr key={`${t.device}/${t.relay}`}>
                <th scope="row">
                  <a href={deviceHref(t.device)}>{t.device}</a>
                </th>
                <td>{t.address}</td>
                <td>
                  <Time iso={t.since} />
                </td>
                <td>{t.relay}</td>
              </tr>
            ))}
          </Table>
        )}
      </section>
      <section aria-labelledby="live-data">
        <h2 id="live-data">Data connections</h2>
        <Alert message={streams.error ?? action.error} />
        {streams.data && (
          <Table
            caption="Open connections through devices"
            head={["User", "Device", "Target", "Since", "Bytes up", "Bytes down", "Actions"]}
            empty={streams.data.length === 0 && "No open connections."}
          >
            {streams.data.map((s) => (
              <tr key={String(s.id)}>
                <td>{s.user ?? ""}</td>
                <td>{s.device}</td>
                <td>{s.target}</td>
                <td>
                  <Time iso={s.since} />
                </td>
                <td>{formatBytes(s.bytesUp)}</td>
                <td>{formatBytes(s.bytesDown)}</td>
                <td class="actions">
                  <button type="button" class="danger" onClick={() => void closeStream(s)} disabled={action.busy}>
                    Close
                  </button>
                </td>
              </tr>
            ))}
          </Table>
        )}
      </section>
      <PublishedPorts closeStream={(s) => void closeStream(s)} busy={action.busy} />
      {dialog}
    </>
  );
}
