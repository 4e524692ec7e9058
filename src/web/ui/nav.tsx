import { useEffect, useState } from "preact/hooks";
import { ADMIN_PAGES, type AdminPage, adminHref, type Route } from "./router.js";

function Item({ href, current, children }: { href: string; current: boolean; children: string }) {
  return (
    <li>
      <a href={href} {...(current ? { "aria-current": "page" as const } : {})}>
        {children}
      </a>
    </li>
  );
}

/**
 * The site navigation: Devices for everyone, the admin pages for admins only. On narrow screens
 * it collapses behind a Menu button, and closes again when a page is chosen.
 */
export function Nav({ route, admin }: { route: Route; admin: boolean }) {
  const onDevices = route.page === "devices" || route.page === "device" || route.page === "login";
  const [open, setOpen] = useState(false);
  const where = JSON.stringify(route);
  useEffect(() => setOpen(false), [where]);
  return (
    <nav class={open ? "side open" : "side"} aria-label="Main">
      <button type="button" class="menu-toggle" aria-expanded={open} aria-controls="nav-lists" onClick={() => setOpen(!open)}>
        Menu
      </button>
      <div id="nav-lists" class="nav-lists">
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
      </div>
    </nav>
  );
}
