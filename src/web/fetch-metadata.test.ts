import assert from "node:assert/strict";
import { test } from "node:test";
import { foreignRequestRefusal } from "./fetch-metadata.js";

const own = "https://w-aaaa.portal.example.com";
const other = "https://w-bbbb.portal.example.com";

test("the HMI's own requests pass, with or without Fetch Metadata", () => {
  assert.equal(foreignRequestRefusal("POST", { "sec-fetch-site": "same-origin", origin: own }, own, false), undefined);
  assert.equal(foreignRequestRefusal("GET", { "sec-fetch-site": "same-origin", "sec-fetch-mode": "cors" }, own, false), undefined);
  assert.equal(foreignRequestRefusal("POST", {}, own, false), undefined, "a client without Fetch Metadata (curl) is not a browser page");
  assert.equal(foreignRequestRefusal("GET", { "sec-fetch-site": "none", "sec-fetch-mode": "navigate" }, own, false), undefined, "typed into the address bar");
});

test("opening the HMI from the portal or from a link elsewhere is a top-level navigation and passes", () => {
  const navigate = { "sec-fetch-mode": "navigate", "sec-fetch-dest": "document" };
  assert.equal(foreignRequestRefusal("GET", { ...navigate, "sec-fetch-site": "cross-site" }, own, false), undefined);
  assert.equal(foreignRequestRefusal("GET", { ...navigate, "sec-fetch-site": "same-site" }, own, false), undefined);
});

test("another HMI's page may not post to, fetch from, frame or embed this HMI", () => {
  const sameSite = { "sec-fetch-site": "same-site", origin: other };
  assert.match(foreignRequestRefusal("POST", { ...sameSite, "sec-fetch-mode": "navigate", "sec-fetch-dest": "document" }, own, false) ?? "", /other sites/);
  assert.ok(foreignRequestRefusal("GET", { ...sameSite, "sec-fetch-mode": "cors", "sec-fetch-dest": "empty" }, own, false));
  assert.ok(foreignRequestRefusal("GET", { "sec-fetch-site": "same-site", "sec-fetch-mode": "navigate", "sec-fetch-dest": "iframe" }, own, false));
  assert.ok(foreignRequestRefusal("GET", { "sec-fetch-site": "cross-site", "sec-fetch-mode": "no-cors", "sec-fetch-dest": "image" }, own, false));
  assert.ok(foreignRequestRefusal("POST", { origin: other }, own, false), "an Origin of another host refuses a change even without Fetch Metadata");
});

test("a WebSocket must come from the HMI's own origin", () => {
  assert.equal(foreignRequestRefusal("GET", { origin: own }, own, true), undefined);
  assert.match(foreignRequestRefusal("GET", { origin: other, "sec-fetch-site": "same-site" }, own, true) ?? "", /WebSocket from/);
});
