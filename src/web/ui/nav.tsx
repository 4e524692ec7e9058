import { ADMIN_PAGES, adminHref, type AdminPage, type Route } from "./router.js";

function Item({ href, current, children }: { href: string; current: boolean; children: string }) {
  return (
    <li>
      <a href={href} {...(current ? { "aria-current": "page" as const } : {})}>
        {children}
      </a>
    </li>
  );
}

/** The site navigation: Devices for everyone, the admin pages for admins only. */
export function Nav({ route, admin }: { route: Route; admin: boolean }) {
  const onDevices = route.page === "devices" || route.page === "device" || route.page === "login";
  return (
    <nav class="side" aria-label="Main">
      <ul>
        <Item href="#/devices" current={onDevices}>
          Devices
        </Item>
        <Item href="#/password" current={route.page === "password"}>
          Change password
        </Item>
      </ul>
      {admin && (
        <>
          <h2 class="nav-title" id="nav-admin">
            Administration
          </h2>
          <ul aria-labelledby="nav-admin">
            {(Object.keys(ADMIN_PAGES) as AdminPage[]).map((page) => (
              <Item key={page} href={adminHref(page)} current={route.page === "admin" && route.admin === page}>
                {ADMIN_PAGES[page]}
              </Item>
            ))}
          </ul>
        </>
      )}
    </nav>
  );
}
