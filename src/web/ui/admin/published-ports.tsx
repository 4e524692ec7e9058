import { call } from "../api.js";
import { Alert, Table, Time } from "../components.js";
import { formatBytes } from "../format.js";
import { useResource } from "../hooks.js";
import { API } from "../routes.js";
import type { LiveStream, PublishList } from "../types.js";

/**
 * The published ports (forward jobs) of the account, as IPrAcc's server shows them: each
 * port with its target, whitelist, state and counters, then each data connection with its
 * bytes and a close button (the same cut as any live stream).
 */
export function PublishedPorts({ closeStream, busy }: { closeStream: (s: LiveStream) => void; busy: boolean }) {
  const list = useResource(async (signal) => call<PublishList>(API.publishedPorts, { signal }), [], ["streams", "bytes"]);
  const ports = list.data?.ports ?? [];
  const connections = ports.flatMap((p) => p.connections.map((c) => ({ port: p, c })));
  return (
    <section aria-labelledby="live-ports">
      <h2 id="live-ports">Published ports</h2>
      <Alert message={list.error} />
      {list.data && (
        <>
          <p>Ports this server may publish: {list.data.range}. Add one with: fernlink publish DEVICE --port N --target HOST:PORT [--udp]</p>
          <Table
            caption="Forward jobs: ports of the server that forward to a device's LAN"
            head={["Name", "Device", "Address", "Target", "Whitelist", "State", "Data connections", "Accepted", "Refused", "Errors"]}
            empty={ports.length === 0 && "No published ports"}
          >
            {ports.map((p) => (
              <tr key={p.name}>
                <th scope="row">{p.name}</th>
                <td>{p.device}</td>
                <td>{p.address}</td>
                <td>{p.target}</td>
                <td>{p.allowFrom.length > 0 ? p.allowFrom.join(", ") : "any address"}</td>
                <td>{p.state === "active" && !p.listening ? "not listening" : p.state}</td>
                <td>{p.connections.length}</td>
                <td>{p.accepted}</td>
                <td>{p.refused}</td>
                <td title={p.lastError}>{p.errors}</td>
              </tr>
            ))}
          </Table>
          <Table
            caption="Data connections through published ports"
            head={["Port", "Source", "Target", "Since", "Bytes up", "Bytes down", "Actions"]}
            empty={connections.length === 0 && "No open connections through published ports."}
          >
            {connections.map(({ port, c }) => (
              <tr key={c.id}>
                <td>{port.name}</td>
                <td>{c.source}</td>
                <td>{port.target}</td>
                <td>
                  <Time iso={c.since} />
                </td>
                <td>{formatBytes(c.bytesUp)}</td>
                <td>{formatBytes(c.bytesDown)}</td>
                <td class="actions">
                  <button
                    type="button"
                    class="danger"
                    disabled={busy}
                    onClick={() =>
                      closeStream({
                        id: c.id,
                        user: port.owner,
                        device: port.device,
                        target: port.target,
                        source: c.source,
                        since: c.since,
                        bytesUp: c.bytesUp,
                        bytesDown: c.bytesDown,
                      })
                    }
                  >
                    Close
                  </button>
                </td>
              </tr>
            ))}
          </Table>
        </>
      )}
    </section>
  );
}
