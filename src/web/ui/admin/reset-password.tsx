import { useState } from "preact/hooks";
import type { PasswordResetRequest, UserInfo } from "../../../protocol/api-users.js";
import { call, path } from "../api.js";
import { Alert, TextField } from "../components.js";
import { useAction } from "../hooks.js";
import { API } from "../routes.js";

/** POST /api/v1/users/:name/reset-password: a one-time password the user must change at the next sign-in. */
export function ResetPasswordForm({ name, onDone, onCancel }: { name: string; onDone: () => void; onCancel: () => void }) {
  const [password, setPassword] = useState("");
  const action = useAction();
  const submit = (e: Event): void => {
    e.preventDefault();
    void action.run(async () => {
      const body: PasswordResetRequest = { password };
      await call<UserInfo>(path(API.userResetPassword, { name }), { method: "POST", body });
      setPassword("");
      onDone();
    });
  };
  return (
    <form onSubmit={submit} class="card" aria-labelledby="reset-password">
      <h2 id="reset-password">Reset the password of {name}</h2>
      <TextField
        label="One-time password"
        type="password"
        value={password}
        onValue={setPassword}
        required
        autoComplete="new-password"
        hint="Give it to the user another way. Their sessions end, and they must choose a new password when they next sign in."
      />
      <Alert message={action.error} />
      <button type="submit" class="primary" disabled={action.busy}>
        Reset password
      </button>{" "}
      <button type="button" onClick={onCancel} disabled={action.busy}>
        Cancel
      </button>
    </form>
  );
}
