import assert from "node:assert/strict";
import { test } from "node:test";
import { switchNote } from "./switch-note.js";

test("a list says 'switched off' beside an offline device and 'remote access off' beside an online one at online", () => {
  assert.equal(switchNote(false, "off"), "switched off");
  assert.equal(switchNote(true, "online"), "remote access off");
  for (const [online, position] of [
    [true, "remote"],
    [false, "remote"],
    [true, "off"],
    [false, "online"],
    [true, null],
    [false, null],
  ] as const)
    assert.equal(switchNote(online, position), undefined, `${online} ${position}`);
});
