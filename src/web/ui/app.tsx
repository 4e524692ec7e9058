import { useEffect, useState } from "preact/hooks";
import { AdminRoute } from "./admin/admin-route.js";
import { messageOf, onSessionSignal } from "./api.js";
import { Alert } from "./components.js";
import { Nav } from "./nav.js";
import { DevicePage } from "./pages/device.js";
import { DevicesPage } from "./pages/devices.js";
import { LoginPage } from "./pages/login.js";
import { NotFoundPage } from "./pages/not-found.js";
import { OtpEnrolPage } from "./pages/otp-enrol.js";
import { PasswordPage } from "./pages/password.js";
import { VncPage } from "./pages/vnc.js";
import { navigate, type Route, useRoute } from "./router.js";
import { currentSession, type Restriction, restrictionOf, signOut } from "./session.js";
import type { PortalSession } from "./types.js";

/** Shown on the sign-in page after a 401 anywhere. */
export const EXPIRED_MESSAGE = "Your session has expired. Sign in again.";

type AppState =
  | { kind: "loading" }
  | { kind: "failed"; message: string }
  | { kind: "signed-out"; notice: { text: string; alert: boolean } | null }
  | { kind: "signed-in"; session: PortalSession; restriction: Restriction | null };

function signedIn(session: PortalSession): AppState {
  return { kind: "signed-in", session, restriction: restrictionOf(session) };
}

/** The whole portal: asks the server for the session, then shows sign-in or the routed page. */
export function App() {
  const [state, setState] = useState<AppState>({ kind: "loading" });
  const route = useRoute();

  const load = (): void => {
    currentSession().then(
      (s) => setState(s ? signedIn(s) : { kind: "signed-out", notice: null }),
      (err: unknown) => setState({ kind: "failed", message: `The portal cannot reach the server: ${messageOf(err)}` }),
    );
  };

  useEffect(() => {
    onSessionSignal((signal) => {
      if (signal === "expired") setState({ kind: "signed-out", notice: { text: EXPIRED_MESSAGE, alert: true } });
      else setState((s) => (s.kind === "signed-in" ? { ...s, restriction: signal } : s));
    });
    load();
  }, []);

  // Signed in on the sign-in page: go home.
  useEffect(() => {
    if (state.kind === "signed-in" && route.page === "login") navigate("#/devices");
  }, [state.kind, route.page]);

  if (state.kind === "loading") return <p class="loading">Loading…</p>;
  if (state.kind === "failed")
    return (
      <main id="main" class="narrow">
        <h1>Fernlink</h1>
        <Alert message={state.message} />
        <button type="button" onClick={load}>
          Try again
        </button>
      </main>
    );
  if (state.kind === "signed-out") return <LoginPage notice={state.notice} onSignedIn={(s) => setState(signedIn(s))} />;

  const { session, restriction } = state;
  const out = async (): Promise<void> => {
    try {
      await signOut();
    } catch {
      // The cookie is cleared on the way out in any case; the page forgets the session either way.
    }
    setState({ kind: "signed-out", notice: { text: "You have signed out.", alert: false } });
    navigate("#/login");
  };
  const refresh = async (): Promise<void> => {
    const s = await currentSession();
    setState(s ? signedIn(s) : { kind: "signed-out", notice: { text: EXPIRED_MESSAGE, alert: true } });
  };

  return (
    <>
      {/* biome-ignore lint/a11y/useValidAnchor: a skip link; without script the plain #main link still works */}
      <a
        class="skip"
        href="#main"
        onClick={(e) => {
          // A plain #main would replace the route in the hash.
          e.preventDefault();
          document.getElementById("main")?.focus();
        }}
      >
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Fernlink</span>
        <span class="who">
          {session.user}@{session.account}
          {session.role === "admin" ? " (admin)" : ""}
        </span>
        <button type="button" class="sign-out" onClick={() => void out()}>
          Sign out
        </button>
      </header>
      <div class="layout">
        {restriction === null && <Nav route={route} admin={session.role === "admin"} />}
        <main id="main" tabIndex={-1}>
          {restriction === "password-expired" || restriction === "password-change-required" ? (
            <PasswordPage session={session} restriction={restriction} onDone={refresh} />
          ) : restriction === "otp-enrollment-required" ? (
            <OtpEnrolPage onDone={refresh} />
          ) : (
            <Page route={route} session={session} />
          )}
        </main>
      </div>
    </>
  );
}

function Page({ route, session }: { route: Route; session: PortalSession }) {
  switch (route.page) {
    case "login":
    case "devices":
      return <DevicesPage session={session} />;
    case "device":
      return <DevicePage key={route.name} name={route.name} />;
    case "vnc":
      return <VncPage key={route.id} id={route.id} />;
    case "password":
      return <PasswordPage session={session} restriction={null} onDone={async () => undefined} />;
    case "admin":
      return <AdminRoute page={route.admin} session={session} />;
    case "not-found":
      return <NotFoundPage />;
  }
}
