import type { SessionInfo } from "../../../protocol/api-users.js";
import { call, path } from "../api.js";
import { Alert, Table, Time, useConfirm } from "../components.js";
import { useAction, useResource } from "../hooks.js";
import { API } from "../routes.js";

/** The account's live sessions (GET /api/v1/sessions), each with End (DELETE /api/v1/sessions/:id). */
export function SessionsTable({ onEnded, reloadKey }: { onEnded: (text: string) => void; reloadKey: number }) {
  const sessions = useResource((signal) => call<SessionInfo[]>(API.accountSessions, { signal }), [reloadKey]);
  const [confirm, dialog] = useConfirm();
  const action = useAction();
  const end = async (s: SessionInfo): Promise<void> => {
    const whose = s.current ? "your own session (you will be signed out)" : `the session of ${s.user}`;
    if (!(await confirm(`End ${whose}? Its live connections are cut.`))) return;
    await action.run(async () => {
      await call(path(API.accountSession, { id: s.id }), { method: "DELETE" });
      onEnded(`Session of ${s.user} ended.`);
      sessions.reload();
    });
  };
  return (
    <>
      <h2>Sessions</h2>
      <Alert message={sessions.error ?? action.error} />
      {sessions.data && (
        <Table
          caption="Live sessions of the account"
          head={["User", "Kind", "Source", "Started", "Last seen", "Actions"]}
          empty={sessions.data.length === 0 && "No live sessions."}
        >
          {sessions.data.map((s) => (
            <tr key={s.id}>
              <th scope="row">
                {s.user}
                {s.current ? " (this session)" : ""}
              </th>
              <td>{s.kind ?? "unknown"}</td>
              <td>{s.source ?? "unknown"}</td>
              <td>
                <Time iso={s.startedAt} />
              </td>
              <td>
                <Time iso={s.lastSeenAt} />
              </td>
              <td class="actions">
                <button
                  type="button"
                  class="danger"
                  onClick={() => void end(s)}
                  disabled={action.busy}
                  aria-label={`End session of ${s.user} started ${s.startedAt}`}
                >
                  End
                </button>
              </td>
            </tr>
          ))}
        </Table>
      )}
      {dialog}
    </>
  );
}
