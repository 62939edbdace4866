/**
 * Inline SVG bar chart of each Periodic ExternalSecret's age against its
 * refresh interval (1× line) and the stale threshold (2×, the alert). Every
 * bar is labelled with its ratio and state in text, so colour is never the
 * only cue; the table next to it carries the same data.
 */
import type { ExternalSecretRow } from "../api/model.ts";
import { staleAfterIntervals } from "../api/model.ts";
import { formatDuration, html, type Html } from "./html.ts";

const maxBars = 40;
const rowHeight = 24;
const labelWidth = 240;
const barWidth = 420;
const valueWidth = 250;
const top = 28;

export function stateOf(row: ExternalSecretRow): string {
  return row.stale ? "stale" : row.health;
}

export function ageChart(rows: readonly ExternalSecretRow[]): Html {
  const periodic = rows
    .filter((r) => r.ageSeconds !== undefined && r.refreshIntervalSeconds)
    .map((r) => ({ row: r, ratio: r.ageSeconds! / r.refreshIntervalSeconds! }))
    .sort((a, b) => b.ratio - a.ratio)
    .slice(0, maxBars);
  if (periodic.length === 0) {
    return html`<p class="empty">No Periodic ExternalSecret has been refreshed yet in this view.</p>`;
  }
  const scaleMax = Math.min(10, Math.max(3, Math.ceil(Math.max(...periodic.map((p) => p.ratio)))));
  const x = (ratio: number) => labelWidth + (Math.min(ratio, scaleMax) / scaleMax) * barWidth;
  const height = top + periodic.length * rowHeight + 8;
  const width = labelWidth + barWidth + valueWidth;
  const line = (ratio: number, label: string, cls: string, anchor: "start" | "end") =>
    html`<line class="${cls}" x1="${x(ratio)}" x2="${x(ratio)}" y1="${top - 6}" y2="${height - 4}" />
      <text
        class="axis"
        x="${x(ratio) + (anchor === "start" ? 4 : -4)}"
        y="${top - 10}"
        text-anchor="${anchor}"
        >${label}</text
      >`;
  return html`<svg
    class="chart"
    role="img"
    aria-labelledby="age-chart-title age-chart-desc"
    viewBox="0 0 ${width} ${height}"
    width="${width}"
    height="${height}"
    xmlns="http://www.w3.org/2000/svg"
  >
    <title id="age-chart-title">Secret age against refresh interval</title>
    <desc id="age-chart-desc">
      One bar per Periodic ExternalSecret, oldest relative to its interval first. The solid line is one
      refresh interval; the dashed line, ${staleAfterIntervals} intervals, is where a secret counts as stale.
    </desc>
    ${line(1, "1× interval", "mark", "end")}
    ${line(staleAfterIntervals, `${staleAfterIntervals}× stale`, "mark stale-line", "start")}
    ${periodic.map(({ row, ratio }, i) => {
      const y = top + i * rowHeight;
      const state = stateOf(row);
      return html`<g class="bar ${state}">
        <text class="label" x="${labelWidth - 8}" y="${y + 16}" text-anchor="end"
          >${row.namespace}/${row.name}</text
        >
        <rect
          x="${labelWidth}"
          y="${y + 4}"
          width="${Math.max(2, x(ratio) - labelWidth)}"
          height="${rowHeight - 8}"
          rx="2"
        />
        <text class="value" x="${labelWidth + barWidth + 8}" y="${y + 16}"
          >${ratio.toFixed(1)}× · ${formatDuration(row.ageSeconds)} of
          ${formatDuration(row.refreshIntervalSeconds)} · ${state}</text
        >
      </g>`;
    })}
  </svg>`;
}
