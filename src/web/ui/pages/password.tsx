import { useState } from "preact/hooks";
import type { PasswdRequest, PasswdResponse } from "../../../protocol/api-users.js";
import { call } from "../api.js";
import { Alert, PageHeading, Status, TextField } from "../components.js";
import { useAction, useTitle } from "../hooks.js";
import { API } from "../routes.js";
import type { PortalSession } from "../types.js";

/**
 * POST /api/v1/passwd, as `fernlink passwd` does: the current and a new password. Also the only page
 * of a session whose password expired or was reset by an admin (the server lets that session call
 * this route alone).
 */
export function PasswordPage({
  session,
  restriction,
  onDone,
}: {
  session: PortalSession;
  restriction: "password-expired" | "password-change-required" | null;
  onDone: () => Promise<void>;
}) {
  useTitle("Change password");
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [repeat, setRepeat] = useState("");
  const [done, setDone] = useState<string | null>(null);
  const action = useAction();

  const submit = (e: Event): void => {
    e.preventDefault();
    setDone(null);
    void action.run(async () => {
      if (next !== repeat) throw new Error("The new password and its repetition differ.");
      const body: PasswdRequest = { currentPassword: current, newPassword: next };
      const reply = await call<PasswdResponse>(API.passwd, { method: "POST", body });
      setCurrent("");
      setNext("");
      setRepeat("");
      setDone(`Password changed; ${reply.revokedSessions} other session(s) ended.`);
      await onDone();
    });
  };

  return (
    <>
      <PageHeading>Change password</PageHeading>
      {restriction === "password-expired" && <p class="notice">Your password has expired. Choose a new one to continue.</p>}
      {restriction === "password-change-required" && (
        <p class="notice">An admin reset your password. You must change it: give the one-time password and choose a new one to continue.</p>
      )}
      <form onSubmit={submit} class="card">
        {/* Lets password managers file the new password under the right user. */}
        <input type="text" name="username" autoComplete="username" value={`${session.user}`} hidden readOnly />
        <TextField label="Current password" type="password" value={current} onValue={setCurrent} autoComplete="current-password" required />
        <TextField label="New password" type="password" value={next} onValue={setNext} autoComplete="new-password" required />
        <TextField label="Repeat new password" type="password" value={repeat} onValue={setRepeat} autoComplete="new-password" required />
        <Alert message={action.error} />
        <Status>{done}</Status>
        <button type="submit" class="primary" disabled={action.busy}>
          Change password
        </button>
      </form>
    </>
  );
}
