/** A CSV cell value; null prints as an empty cell. */
export type CsvValue = string | number | null;

/** Text a spreadsheet would run as a formula (OWASP "CSV injection"), and tab/CR that hide one. */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One cell, RFC 4180 quoted: text that starts like a formula gets a leading `'` so spreadsheets
 * show it instead of running it; text with a comma, quote or line break is quoted, quotes doubled.
 */
export function csvCell(value: CsvValue): string {
  if (value === null) return "";
  if (typeof value === "number") return String(value);
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A whole CSV document: a header line and one line per row, each ended by CRLF (RFC 4180). */
export function toCsv(header: readonly string[], rows: readonly (readonly CsvValue[])[]): string {
  return [header, ...rows].map((cells) => `${cells.map(csvCell).join(",")}\r\n`).join("");
}
