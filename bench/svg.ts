/** Hand-written SVG plots for docs/PERFORMANCE.md: grouped bars and a latency percentile plot. */
import { PATHS, type PathName } from "./paths.js";

const COLORS: Record<PathName, string> = { direct: "#7f7f7f", fernlink: "#2e7d32", ssh: "#1565c0", socat: "#ef6c00" };
const NAMES: Record<PathName, string> = { direct: "direct", fernlink: "Fernlink", ssh: "ssh -R", socat: "socat" };
const FONT = `font-family="sans-serif" font-size="12"`;
const TITLE = `font-family="sans-serif" font-size="14" font-weight="bold"`;

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function legend(x: number, y: number, paths: readonly PathName[]): string {
  return paths
    .map(
      (p, i) =>
        `<rect x="${x + i * 95}" y="${y - 10}" width="12" height="12" fill="${COLORS[p]}"/><text x="${x + i * 95 + 16}" y="${y}" ${FONT}>${NAMES[p]}</text>`,
    )
    .join("");
}

function niceMax(v: number): number {
  const e = 10 ** Math.floor(Math.log10(v || 1));
  return [1, 2, 2.5, 5, 10].map((k) => k * e).find((x) => x >= v) ?? v;
}

/** Bars per group (one per path, the median) with a min–max whisker. */
export function barChart(title: string, unit: string, groups: { label: string; values: Partial<Record<PathName, number[]>> }[]): string {
  const W = 760;
  const H = 340;
  const left = 60;
  const top = 50;
  const plotH = 220;
  const plotW = W - left - 20;
  const all = groups.flatMap((g) => PATHS.flatMap((p) => g.values[p] ?? []));
  const max = niceMax(Math.max(...all, 0));
  const y = (v: number): number => top + plotH - (v / max) * plotH;
  const gw = plotW / Math.max(1, groups.length);
  const bw = (gw * 0.8) / PATHS.length;
  const parts: string[] = [
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${left}" y="20" ${TITLE}>${esc(title)}</text>`,
    legend(left, 40, PATHS),
  ];
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    parts.push(
      `<line x1="${left}" x2="${left + plotW}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/><text x="${left - 6}" y="${y(v) + 4}" ${FONT} ` +
        `text-anchor="end">${+v.toFixed(2)}</text>`,
    );
  }
  parts.push(`<text x="14" y="${top + plotH / 2}" ${FONT} transform="rotate(-90 14 ${top + plotH / 2})" text-anchor="middle">${esc(unit)}</text>`);
  groups.forEach((g, gi) => {
    const gx = left + gi * gw + gw * 0.1;
    PATHS.forEach((p, pi) => {
      const xs = g.values[p];
      if (!xs?.length) return;
      const s = [...xs].sort((a, b) => a - b);
      const med = s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
      const x = gx + pi * bw;
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${y(med).toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${(top + plotH - y(med)).toFixed(1)}" ` +
          `fill="${COLORS[p]}"><title>${NAMES[p]}: ${med.toFixed(3)} ${esc(unit)}</title></rect>`,
      );
      if (s.length > 1) {
        const cx = (x + (bw - 2) / 2).toFixed(1);
        parts.push(`<line x1="${cx}" x2="${cx}" y1="${y(s[0]!).toFixed(1)}" y2="${y(s[s.length - 1]!).toFixed(1)}" stroke="black"/>`);
      }
    });
    parts.push(`<text x="${(gx + gw * 0.4).toFixed(1)}" y="${top + plotH + 18}" ${FONT} text-anchor="middle">${esc(g.label)}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">${parts.join("")}</svg>\n`;
}

/** Latency against percentile, the percentile axis in "nines" (50, 90, 99, 99.9 …), latency on a log axis. */
export function percentilePlot(title: string, quantiles: readonly number[], byPath: Partial<Record<PathName, number[]>>): string {
  const W = 760;
  const H = 360;
  const left = 70;
  const top = 50;
  const plotW = W - left - 30;
  const plotH = 250;
  const nines = (q: number): number => -Math.log10(Math.max(1e-5, 1 - q / 100));
  const qs = quantiles.filter((q) => q < 100);
  const xMax = nines(Math.max(...qs));
  const x = (q: number): number => left + (nines(q) / xMax) * plotW;
  const values = PATHS.flatMap((p) => byPath[p] ?? []).filter((v) => v > 0);
  const lo = 10 ** Math.floor(Math.log10(Math.min(...values, 10)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...values, 100)));
  const y = (v: number): number => top + plotH - ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotH;
  const parts: string[] = [
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${left}" y="20" ${TITLE}>${esc(title)}</text>`,
    legend(left, 40, PATHS),
  ];
  for (let d = lo; d <= hi; d *= 10)
    parts.push(
      `<line x1="${left}" x2="${left + plotW}" y1="${y(d)}" y2="${y(d)}" stroke="#ddd"/><text x="${left - 6}" y="${y(d) + 4}" ${FONT} ` +
        `text-anchor="end">${d >= 1000 ? `${d / 1000} ms` : `${d} µs`}</text>`,
    );
  for (const q of [0, 50, 90, 99, 99.9, 99.99].filter((q) => nines(q) <= xMax + 1e-9))
    parts.push(
      `<line x1="${x(q)}" x2="${x(q)}" y1="${top}" y2="${top + plotH}" stroke="#eee"/><text x="${x(q)}" y="${top + plotH + 16}" ${FONT} ` +
        `text-anchor="middle">p${q}</text>`,
    );
  for (const p of PATHS) {
    const v = byPath[p];
    if (!v?.length) continue;
    const pts = quantiles.map((q, i) => [q, v[i]!] as const).filter(([q]) => q < 100);
    parts.push(
      `<polyline fill="none" stroke="${COLORS[p]}" stroke-width="2" points="${pts.map(([q, u]) => `${x(q).toFixed(1)},${y(u).toFixed(1)}`).join(" ")}"/>`,
    );
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">${parts.join("")}</svg>\n`;
}
