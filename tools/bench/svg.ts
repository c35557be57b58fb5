/**
 * The benchmark's chart, drawn by hand as SVG: two panels of horizontal
 * bars on logarithmic scales, the median round trip (shorter is better)
 * and the 64-byte throughput (longer is better), TypeScript and C side by
 * side for every mechanism.
 *
 * Dark ink on a transparent background, like the book's other diagrams:
 * theme/book.css inverts pictures in mdBook's dark themes.
 */
import type { BenchResult, MechanismResult } from "./bench.ts";

const INK = "#24292f";
const MUTED = "#57606a";
const GRID = "#d0d7de";
const TS = "#0969da";
const C = "#bc4c00";

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** 1.2 µs, 35 µs, 2.1 M/s, 850 k/s. */
export function shortNumber(value: number, unit: string): string {
  if (unit === "µs") return value >= 100 ? `${Math.round(value)} µs` : value >= 10 ? `${value.toFixed(1)} µs` : `${value.toFixed(2)} µs`;
  if (value >= 1e6) return `${(value / 1e6).toFixed(value >= 1e7 ? 0 : 1)} M/s`;
  if (value >= 1e3) return `${Math.round(value / 1e3)} k/s`;
  return `${Math.round(value)} /s`;
}

/** A tick of a logarithmic axis (a power of ten): 0.1 µs, 1 µs, 10 k/s, 1 M/s. */
function tickLabel(value: number, unit: string): string {
  if (unit === "µs") return `${value >= 1 ? Math.round(value) : Number(value.toPrecision(1))} µs`;
  if (value >= 1e6) return `${Math.round(value / 1e6)} M/s`;
  if (value >= 1e3) return `${Math.round(value / 1e3)} k/s`;
  return `${Math.round(value)} /s`;
}

interface Panel {
  title: string;
  unit: string;
  value: (m: MechanismResult, side: "ts" | "c") => number | null;
}

const PANELS: Panel[] = [
  { title: "Round trip, 64 bytes: median (shorter is better)", unit: "µs", value: (m, side) => m.latency[side]?.median_us ?? null },
  { title: "Throughput, 64-byte messages (longer is better)", unit: "/s", value: (m, side) => m.throughput["64"]?.[side]?.msgs_per_s ?? null },
];

/** The chart as an SVG document. */
export function chart(result: BenchResult): string {
  const rows = result.mechanisms.filter((m) => PANELS.some((p) => p.value(m, "ts") !== null || p.value(m, "c") !== null));
  const labelWidth = 230;
  const panelWidth = 330;
  const gap = 40;
  const rowHeight = 26;
  const top = 78;
  const width = labelWidth + 2 * panelWidth + gap + 20;
  const height = top + rows.length * rowHeight + 58;
  const out: string[] = [];
  const title = "Linux IPC from TypeScript and from C";
  const machine = result.machine;
  const pinned = result.settings.latencyPinning?.startsWith("taskset") ? "; round trips on one core" : "";
  const subtitle = `${machine.cpu}, ${machine.cores} cores, ${machine.kernel}, Bun ${machine.bun}; load ${machine.loadStart.join(" ")}${pinned}${result.quick ? " (quick run: indicative only)" : ""}`;
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-labelledby="title desc">`,
    `  <title id="title">${escape(title)}</title>`,
    `  <desc id="desc">${escape(
      `Bar chart on logarithmic scales: for each mechanism, the median round trip of a 64-byte message and the throughput of 64-byte messages, from TypeScript through the library (blue) and from C (orange). ${subtitle}.`,
    )}</desc>`,
    `  <!-- Dark ink on a transparent background; theme/book.css inverts it in mdBook's dark themes. Written by tools/bench/bench.ts. -->`,
    `  <g font-family="sans-serif" font-size="12" fill="${INK}">`,
    `    <text x="10" y="20" font-size="15" font-weight="bold">${escape(title)}</text>`,
    `    <text x="10" y="38" font-size="11" fill="${MUTED}">${escape(subtitle)}</text>`,
    `    <rect x="${labelWidth}" y="46" width="12" height="10" fill="${TS}"/><text x="${labelWidth + 16}" y="55" font-size="11">TypeScript (lib/)</text>`,
    `    <rect x="${labelWidth + 130}" y="46" width="12" height="10" fill="${C}"/><text x="${labelWidth + 146}" y="55" font-size="11">C (same protocol)</text>`,
  );
  rows.forEach((m, i) => {
    const y = top + i * rowHeight;
    out.push(`    <text x="${labelWidth - 8}" y="${y + 16}" text-anchor="end">${escape(m.label)}</text>`);
  });
  PANELS.forEach((panel, p) => {
    const x0 = labelWidth + p * (panelWidth + gap);
    const values = rows.flatMap((m) => [panel.value(m, "ts"), panel.value(m, "c")]).filter((v): v is number => v !== null && v > 0);
    if (values.length === 0) return;
    const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...values))));
    const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...values))));
    const scale = (v: number) => ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo) || 1)) * (panelWidth - 60);
    out.push(`    <text x="${x0}" y="${top - 6}" font-size="12" font-weight="bold">${escape(panel.title)}</text>`);
    for (let tick = lo; tick <= hi * 1.0001; tick *= 10) {
      const x = x0 + scale(tick);
      out.push(
        `    <line x1="${x.toFixed(1)}" y1="${top}" x2="${x.toFixed(1)}" y2="${top + rows.length * rowHeight}" stroke="${GRID}" stroke-width="1"/>`,
        `    <text x="${x.toFixed(1)}" y="${top + rows.length * rowHeight + 14}" font-size="10" fill="${MUTED}" text-anchor="middle">${escape(tickLabel(tick, panel.unit))}</text>`,
      );
    }
    rows.forEach((m, i) => {
      const y = top + i * rowHeight;
      (["ts", "c"] as const).forEach((side, k) => {
        const v = panel.value(m, side);
        if (v === null || v <= 0) return;
        const w = Math.max(1, scale(v));
        const by = y + 3 + k * 10;
        out.push(
          `    <rect x="${x0}" y="${by}" width="${w.toFixed(1)}" height="9" fill="${side === "ts" ? TS : C}"/>`,
          `    <text x="${(x0 + w + 4).toFixed(1)}" y="${by + 8}" font-size="9" fill="${MUTED}">${escape(shortNumber(v, panel.unit))}</text>`,
        );
      });
    });
  });
  out.push(
    `    <text x="10" y="${height - 12}" font-size="10" fill="${MUTED}">${escape(`Logarithmic scales. Regenerate with: ${result.command}`)}</text>`,
    "  </g>",
    "</svg>",
    "",
  );
  return out.join("\n");
}
