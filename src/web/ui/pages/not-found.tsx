import { PageHeading } from "../components.js";
import { useTitle } from "../hooks.js";

/** Any hash the router does not know. */
export function NotFoundPage() {
  useTitle("Page not found");
  return (
    <>
      <PageHeading>Page not found</PageHeading>
      <p>
        There is no such page. Go to the <a href="#/devices">devices</a>.
      </p>
    </>
  );
}
