/**
 * An SMS gateway's HTTP API as a URL template: `{to}` and `{text}` are replaced by the phone
 * number and the message, URL-encoded, and the service sends a GET to the result, e.g.
 * `https://gateway.example/send?key=K&to={to}&text={text}`. Any 2xx answer counts as sent.
 */

/** Longest message sent: one SMS. */
export const SMS_MAX_CHARS = 160;

/** A template that is no http(s) URL or lacks `{text}`. */
export class SmsTemplateError extends Error {
  override readonly name = "SmsTemplateError";
  readonly code = "invalid-sms-template";
}

/** Checks a template; the message never quotes it, as it may hold the gateway's API key. */
export function checkSmsTemplate(template: string): void {
  if (!template.includes("{text}")) throw new SmsTemplateError("the SMS URL template must contain {text} (and usually {to})");
  let url: URL;
  try {
    url = new URL(template.replaceAll("{to}", "0").replaceAll("{text}", "x"));
  } catch {
    throw new SmsTemplateError("the SMS URL template is not a URL once {to} and {text} are filled in");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new SmsTemplateError("the SMS URL template must start with https:// or http://");
}

/** The URL to call for one message: `text` cut to one SMS, both values URL-encoded. */
export function fillSmsTemplate(template: string, values: { to: string; text: string }): string {
  const text = values.text.length > SMS_MAX_CHARS ? `${values.text.slice(0, SMS_MAX_CHARS - 1)}…` : values.text;
  return template.replaceAll("{to}", encodeURIComponent(values.to)).replaceAll("{text}", encodeURIComponent(text));
}
