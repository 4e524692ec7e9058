import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, messageOf } from "../api.js";
import { Alert, Status, TextField } from "../components.js";
import { useTitle } from "../hooks.js";
import { signIn } from "../session.js";
import type { PortalSession } from "../types.js";

const ACCOUNT_KEY = "fernlink.account";

function rememberedAccount(): string {
  try {
    return localStorage.getItem(ACCOUNT_KEY) ?? "";
  } catch {
    return "";
  }
}

/** The sign-in form; the one-time code field appears when the server asks for it. */
export function LoginPage({ notice, onSignedIn }: { notice: { text: string; alert: boolean } | null; onSignedIn: (s: PortalSession) => void }) {
  useTitle("Sign in");
  const [account, setAccount] = useState(rememberedAccount);
  const [user, setUser] = useState("");
  const [password, setPassword] = useState("");
  const [otp, setOtp] = useState("");
  const [needOtp, setNeedOtp] = useState(false);
  const [error, setError] = useState<string | null>(notice?.alert ? notice.text : null);
  const [busy, setBusy] = useState(false);
  const accountRef = useRef<HTMLInputElement>(null);
  const userRef = useRef<HTMLInputElement>(null);
  const passwordRef = useRef<HTMLInputElement>(null);
  const otpRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    (account ? userRef : accountRef).current?.focus();
  }, []);
  useEffect(() => {
    if (needOtp) otpRef.current?.focus();
  }, [needOtp]);

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const session = await signIn({ account: account.trim(), user: user.trim(), password, ...(needOtp && otp ? { otp: otp.trim() } : {}) });
      try {
        localStorage.setItem(ACCOUNT_KEY, session.account);
      } catch {
        // Storage may be off; remembering the account is only a convenience.
      }
      onSignedIn(session);
    } catch (err) {
      if (err instanceof ApiError && err.code === "otp-required") {
        setNeedOtp(true);
        setError(err.message);
        otpRef.current?.focus();
      } else {
        setError(messageOf(err));
        setOtp("");
        if (!needOtp) {
          setPassword("");
          passwordRef.current?.focus();
        } else otpRef.current?.focus();
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="narrow sign-in">
      <p class="brand-large">Fernlink</p>
      <h1>Sign in</h1>
      {notice && !notice.alert && <Status>{notice.text}</Status>}
      <form onSubmit={(e) => void submit(e)}>
        <TextField
          label="Account"
          value={account}
          onValue={setAccount}
          inputRef={accountRef}
          name="account"
          autoCapitalize="none"
          spellcheck={false}
          required
        />
        <TextField
          label="User"
          value={user}
          onValue={setUser}
          inputRef={userRef}
          name="username"
          autoComplete="username"
          autoCapitalize="none"
          spellcheck={false}
          required
        />
        <TextField
          label="Password"
          type="password"
          value={password}
          onValue={setPassword}
          inputRef={passwordRef}
          name="password"
          autoComplete="current-password"
          required
        />
        {needOtp && (
          <TextField
            label="One-time code"
            value={otp}
            onValue={setOtp}
            inputRef={otpRef}
            name="otp"
            inputMode="numeric"
            autoComplete="one-time-code"
            pattern="[0-9]{6}"
            maxLength={6}
            required
            hint="The 6 digits your authenticator app shows."
          />
        )}
        <Alert message={error} />
        <button type="submit" class="primary" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
