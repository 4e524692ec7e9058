import assert from "node:assert/strict";
import { test } from "node:test";
import { csvCell, toCsv } from "./csv.js";

test("plain text, numbers and null are written as they are", () => {
  assert.equal(csvCell("press-7"), "press-7");
  assert.equal(csvCell(1048576), "1048576");
  assert.equal(csvCell(null), "");
  assert.equal(csvCell(""), "");
});

test("commas, quotes and line breaks are quoted with quotes doubled (RFC 4180)", () => {
  assert.equal(csvCell("a,b"), '"a,b"');
  assert.equal(csvCell('say "hi"'), '"say ""hi"""');
  assert.equal(csvCell("two\nlines"), '"two\nlines"');
  assert.equal(csvCell("cr\rlf"), '"cr\rlf"');
});

test("cells that start like a spreadsheet formula get a leading apostrophe", () => {
  for (const formula of ["=1+1", "+41 79", "-2+3", "@SUM(A1)", "\t=cmd", "\r=cmd"]) {
    assert.ok(csvCell(formula).replace(/^"/, "").startsWith("'"), JSON.stringify(formula));
  }
  assert.equal(csvCell('=HYPERLINK("http://x","y")'), `"'=HYPERLINK(""http://x"",""y"")"`);
  assert.equal(csvCell("a=b"), "a=b", "only a leading sign is a formula");
});

test("a document has a header and CRLF-terminated lines", () => {
  assert.equal(
    toCsv(
      ["user", "bytes"],
      [
        ["alice", 12],
        ["=evil", null],
      ],
    ),
    "user,bytes\r\nalice,12\r\n'=evil,\r\n",
  );
});
