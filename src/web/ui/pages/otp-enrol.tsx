import { useState } from "preact/hooks";
import type { OtpEnableResponse } from "../../../protocol/api-users.js";
import { call } from "../api.js";
import { Alert, CopyButton, PageHeading } from "../components.js";
import { useAction, useTitle } from "../hooks.js";
import { API } from "../routes.js";

/** The page of a session that must turn on one-time codes first (the account policy requires them). */
export function OtpEnrolPage({ onDone }: { onDone: () => Promise<void> }) {
  useTitle("Turn on one-time codes");
  const [secret, setSecret] = useState<OtpEnableResponse | null>(null);
  const action = useAction();
  const enable = (): void =>
    void action.run(async () => {
      setSecret(await call<OtpEnableResponse>(API.otpEnable, { method: "POST" }));
    });

  return (
    <>
      <PageHeading>Turn on one-time codes</PageHeading>
      <p class="notice">Your account requires one-time codes for signing in. Turn them on to continue.</p>
      {!secret ? (
        <>
          <Alert message={action.error} />
          <button type="button" class="primary" onClick={enable} disabled={action.busy}>
            Turn on one-time codes
          </button>
        </>
      ) : (
        <section class="card" aria-labelledby="otp-secret">
          <h2 id="otp-secret">Add this to your authenticator app</h2>
          <p>It is shown only now. Enter the secret in the app (or open the link on the phone that has the app).</p>
          <dl class="details">
            <dt>Secret</dt>
            <dd>
              <code class="secret">{secret.secret}</code> <CopyButton text={secret.secret} label="Copy secret" />
            </dd>
            <dt>Link</dt>
            <dd>
              <code class="secret">{secret.uri}</code> <CopyButton text={secret.uri} label="Copy link" />
            </dd>
          </dl>
          <p>From now on, sign in with the code the app shows.</p>
          <button type="button" class="primary" onClick={() => void onDone()}>
            Continue
          </button>
        </section>
      )}
    </>
  );
}
