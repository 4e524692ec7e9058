import assert from "node:assert/strict";
import { test } from "node:test";
import { checkSmsTemplate, fillSmsTemplate, SMS_MAX_CHARS, SmsTemplateError } from "./sms-template.js";

test("the template gets the number and the text URL-encoded in every place named", () => {
  const url = fillSmsTemplate("https://gw.example/send?key=K&to={to}&text={text}&copy={text}", { to: "+49 170", text: "press-7 is offline & cold" });
  assert.equal(url, "https://gw.example/send?key=K&to=%2B49%20170&text=press-7%20is%20offline%20%26%20cold&copy=press-7%20is%20offline%20%26%20cold");
  assert.equal(new URL(url).searchParams.get("text"), "press-7 is offline & cold");
});

test("a text longer than one SMS is cut with an ellipsis", () => {
  const url = fillSmsTemplate("https://gw.example/?m={text}", { to: "1", text: "x".repeat(500) });
  const text = new URL(url).searchParams.get("m")!;
  assert.equal(text.length, SMS_MAX_CHARS);
  assert.ok(text.endsWith("…"));
});

test("a template without {text}, not a URL, or not http(s) is refused without quoting it", () => {
  for (const bad of ["https://gw.example/send?to={to}", "gw.example/send?text={text}", "ftp://gw.example/{text}"]) {
    assert.throws(
      () => checkSmsTemplate(bad),
      (err: unknown) => err instanceof SmsTemplateError && !err.message.includes("gw.example"),
      bad,
    );
  }
  checkSmsTemplate("http://127.0.0.1:8080/sms?to={to}&text={text}");
});
