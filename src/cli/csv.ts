/** The CSV encoder moved to src/shared/csv.ts so the web portal uses the same one. */
export { csvCell, toCsv, type CsvValue } from "../shared/csv.js";
