/**
 * The dashboard page: server-rendered HTML with inline CSS, no script and no
 * external resource, so it works offline and behind strict proxies. Filters
 * are a plain GET form. States are shown as text with a symbol, the colour
 * only repeats them. Key names only, never a value.
 */
import { createHash } from "node:crypto";
import type { ExternalSecretRow, Health, Overview, Query, SecretRow, StoreRow } from "../api/model.ts";
import { sortKeys, statusFilters } from "../api/model.ts";
import type { AuditRecord } from "../../store/audit.ts";
import { ageChart } from "./chart.ts";
import { formatDuration, html, raw, type Html } from "./html.ts";

const css = `
:root { color-scheme: light; --ok:#0b5d1e; --ok-bg:#e3f4e6; --prog:#6b4e00; --prog-bg:#fff4d1; --bad:#8c1d18; --bad-bg:#fde7e5;
  --stale:#4a2a8a; --stale-bg:#eee7fa; --fg:#1b1b1f; --muted:#4a4a55; --line:#c9c9d3; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, sans-serif; color: var(--fg); background: #fff; }
header { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: baseline; padding: .8rem 1.5rem; background: #20232a; color: #fff; }
header h1 { margin: 0; font-size: 1.3rem; }
header dl { display: flex; gap: 1.2rem; margin: 0; }
header dt { display: inline; color: #d0d0d8; } header dd { display: inline; margin: 0 0 0 .3rem; font-weight: 600; }
main { padding: 1rem 1.5rem 2rem; max-width: 1400px; }
h2 { font-size: 1.1rem; margin: 1.6rem 0 .5rem; }
.cards { display: flex; flex-wrap: wrap; gap: .8rem; list-style: none; padding: 0; margin: 0; }
.cards li { border: 1px solid var(--line); border-radius: 6px; padding: .5rem .9rem; min-width: 9rem; }
.cards strong { display: block; font-size: 1.5rem; }
form { display: flex; flex-wrap: wrap; gap: 1rem; align-items: end; margin: 1rem 0; }
label { display: flex; flex-direction: column; font-weight: 600; font-size: .9rem; }
select, button { font: inherit; padding: .3rem .5rem; border: 1px solid #767680; border-radius: 4px; background: #fff; }
button { background: #1f4f99; color: #fff; border-color: #1f4f99; cursor: pointer; }
:focus-visible { outline: 3px solid #1f4f99; outline-offset: 2px; }
table { border-collapse: collapse; width: 100%; }
caption { text-align: left; color: var(--muted); padding-bottom: .3rem; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { background: #f3f3f6; }
tbody th { font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; padding: .05rem .5rem; border-radius: 999px; font-weight: 600; white-space: nowrap; border: 1px solid; }
.healthy { color: var(--ok); background: var(--ok-bg); } .progressing { color: var(--prog); background: var(--prog-bg); }
.degraded { color: var(--bad); background: var(--bad-bg); } .stale { color: var(--stale); background: var(--stale-bg); }
.msg { color: var(--muted); font-size: .9rem; }
code { font-size: .88rem; background: #f3f3f6; padding: 0 .25rem; border-radius: 3px; }
.empty { color: var(--muted); }
svg.chart { max-width: 100%; height: auto; font: 12px system-ui, sans-serif; }
svg .label, svg .value { fill: var(--fg); } svg .axis { fill: var(--muted); }
svg .mark { stroke: #55555f; stroke-width: 1; } svg .stale-line { stroke-dasharray: 4 3; }
svg .bar.healthy rect { fill: #2e7d32; } svg .bar.progressing rect { fill: #b08800; }
svg .bar.degraded rect { fill: #c62828; } svg .bar.stale rect { fill: #6a1b9a; }
`;

// Built outside the html`` template so formatting the template cannot change the hashed text.
const styleElement = `<style>${css}</style>`;
/** For the Content-Security-Policy: the one inline style block, and nothing else, may apply. */
export const styleHash = `sha256-${createHash("sha256").update(css).digest("base64")}`;

const symbols: Record<Health | "stale", string> = {
  healthy: "✓",
  progressing: "…",
  degraded: "✗",
  stale: "◷",
};
const titles: Record<Health | "stale", string> = {
  healthy: "Healthy",
  progressing: "Progressing",
  degraded: "Degraded",
  stale: "Stale",
};

function badge(state: Health | "stale"): Html {
  return html`<span class="badge ${state}"
    ><span aria-hidden="true">${symbols[state]}</span> ${titles[state]}</span
  >`;
}

function options(values: readonly string[], selected: string | undefined, all: string): Html {
  return html`<option value="" ${selected ? "" : raw("selected")}>${all}</option>
    ${values.map((v) => html`<option value="${v}" ${v === selected ? raw("selected") : ""}>${v}</option>`)}`;
}

function filterForm(o: Overview, q: Query): Html {
  return html`<form method="get" action="/" aria-label="Filter and sort">
    <label for="f-namespace"
      >Namespace<select id="f-namespace" name="namespace">
        ${options(o.namespaces, q.namespace, "All namespaces")}
      </select></label
    >
    <label for="f-status"
      >Status<select id="f-status" name="status">
        ${options(statusFilters, q.status, "Any status")}
      </select></label
    >
    <label for="f-sort"
      >Sort ExternalSecrets by<select id="f-sort" name="sort">
        ${sortKeys.map(
          (k) => html`<option value="${k}" ${k === (q.sort ?? "name") ? raw("selected") : ""}>${k}</option>`,
        )}
      </select></label
    >
    <button type="submit">Apply</button>
  </form>`;
}

function summaryCards(o: Overview): Html {
  const es = o.summary.externalSecrets;
  return html`<ul class="cards" aria-label="ExternalSecrets by state">
    ${(["healthy", "progressing", "degraded", "stale"] as const).map(
      (s) => html`<li class="${s}"><strong>${es[s]}</strong>${badge(s)}</li>`,
    )}
  </ul>`;
}

/** A data table: caption, column headers, one row per item (rows bring their own row header). */
function table(id: string, caption: string, columns: readonly string[], rows: readonly Html[]): Html {
  return html`<table id="${id}">
    <caption>
      ${caption}
    </caption>
    <thead>
      <tr>
        ${columns.map((c) => html`<th scope="col">${c}</th>`)}
      </tr>
    </thead>
    <tbody>
      ${rows}
    </tbody>
  </table>`;
}

function storeTable(rows: readonly StoreRow[]): Html {
  if (rows.length === 0) return html`<p class="empty">No stores.</p>`;
  return table(
    "stores",
    "Secret stores, their readiness and backend calls",
    ["Store", "Provider", "Status", "Reason", "ExternalSecrets", "Backend calls", "Failed", "Throttled"],
    rows.map(
      (s) =>
        html`<tr data-store="${s.store}" data-health="${s.health}">
          <th scope="row">${s.store}</th>
          <td>${s.provider}</td>
          <td>${badge(s.health)}</td>
          <td>
            ${s.reason}${s.warnings.length ? html` <span class="msg">(${s.warnings.join(", ")})</span>` : ""}
            <div class="msg">${s.message}</div>
          </td>
          <td class="num">${s.externalSecrets}</td>
          <td class="num">${s.backendCalls.total}</td>
          <td class="num">${s.backendCalls.failed}</td>
          <td class="num">${s.backendCalls.throttled}</td>
        </tr>`,
    ),
  );
}

function externalSecretTable(rows: readonly ExternalSecretRow[]): Html {
  if (rows.length === 0) return html`<p class="empty">No ExternalSecret matches.</p>`;
  return table(
    "externalsecrets",
    "ExternalSecrets: status, last refresh and age against the refresh interval",
    [
      "ExternalSecret",
      "Store",
      "Status",
      "Last refresh",
      "Age / interval",
      "Syncs",
      "Failed syncs",
      "Reason",
    ],
    rows.map(
      (r) =>
        html`<tr
          data-name="${r.namespace}/${r.name}"
          data-health="${r.health}"
          data-stale="${String(r.stale)}"
        >
          <th scope="row">${r.namespace}/${r.name}</th>
          <td>${r.store}</td>
          <td>${badge(r.health)}${r.stale ? html` ${badge("stale")}` : ""}</td>
          <td>
            ${r.lastRefresh ? html`<time datetime="${r.lastRefresh}">${r.lastRefresh}</time>` : "never"}
          </td>
          <td>
            ${formatDuration(r.ageSeconds)} /
            ${r.refreshIntervalSeconds ? formatDuration(r.refreshIntervalSeconds) : r.refreshPolicy}
          </td>
          <td class="num">${r.syncs.total}</td>
          <td class="num">${r.syncs.failed}</td>
          <td>
            ${r.reason}
            <div class="msg">${r.message}</div>
          </td>
        </tr>`,
    ),
  );
}

function consumersCell(s: SecretRow): Html {
  if (s.consumers) {
    if (s.consumers.length === 0) return html`none`;
    return html`<ul>
      ${s.consumers.map((c) => html`<li>${c.kind}/${c.name}</li>`)}
    </ul>`;
  }
  return s.consumerCounts
    ? html`${s.consumerCounts.workloads} workload(s)`
    : html`<span class="msg">not reported</span>`;
}

function stalePodsCell(s: SecretRow): Html {
  if (s.consumers) {
    const pods = s.consumers.flatMap((c) => c.stalePods);
    return pods.length ? html`${badge("stale")} ${pods.join(", ")}` : html`0`;
  }
  if (s.consumerCounts)
    return s.consumerCounts.stalePods ? html`${badge("stale")} ${s.consumerCounts.stalePods}` : html`0`;
  return html`<span class="msg">not reported</span>`;
}

function secretTable(rows: readonly SecretRow[]): Html {
  if (rows.length === 0) return html`<p class="empty">No Secrets.</p>`;
  return table(
    "secrets",
    "Secrets written by refsync: key names (never values), consuming workloads and stale pods",
    ["Secret", "From ExternalSecret", "Keys", "Consumers", "Stale pods"],
    rows.map(
      (s) =>
        html`<tr data-secret="${s.namespace}/${s.name}">
          <th scope="row">${s.namespace}/${s.name}</th>
          <td>${s.externalSecret}</td>
          <td>
            ${s.exists
              ? s.keys.length
                ? s.keys.map((k) => html`<code>${k}</code> `)
                : html`<span class="msg">no keys</span>`
              : html`<span class="msg">not written yet</span>`}
          </td>
          <td>${consumersCell(s)}</td>
          <td>${stalePodsCell(s)}</td>
        </tr>`,
    ),
  );
}

function eventTable(o: Overview): Html {
  if (o.events.length === 0) return html`<p class="empty">No events yet.</p>`;
  return table(
    "events",
    "Latest events, newest first",
    ["Time", "Type", "Object", "Reason", "Message"],
    o.events.map(
      (e) =>
        html`<tr>
          <td><time datetime="${e.time}">${e.time}</time></td>
          <td>${e.type === "Warning" ? html`<span class="badge degraded">⚠ Warning</span>` : "Normal"}</td>
          <td>${e.object.kind} ${e.object.namespace ? `${e.object.namespace}/` : ""}${e.object.name}</td>
          <td>${e.reason}</td>
          <td class="msg">${e.message}</td>
        </tr>`,
    ),
  );
}

/** "Who read what": the latest audit records (the controller's /api/v1/audit window). */
function auditTable(records: readonly AuditRecord[]): Html {
  if (records.length === 0) return html`<p class="empty">No backend operations recorded yet.</p>`;
  return table(
    "audit",
    "Latest backend operations, newest first (names and keys only; the full record is in /api/v1/audit)",
    ["Time", "For", "Store", "Operation", "Keys", "Outcome", "Request ID"],
    records.map(
      (r) =>
        html`<tr>
          <td><time datetime="${r.time}">${r.time}</time></td>
          <td>
            ${r.subjects
              .map((s) => (s.kind === "ExternalSecret" ? `${s.namespace}/${s.name}` : `${s.kind} ${s.name}`))
              .join(", ")}
          </td>
          <td>${r.store}</td>
          <td>${r.operation}</td>
          <td>${(r.keys ?? []).map((k) => k.key).join(", ")}</td>
          <td>
            ${r.outcome === "ok"
              ? "ok"
              : html`<span class="badge degraded">✗ ${r.outcome}${r.reason ? ` (${r.reason})` : ""}</span>`}
          </td>
          <td><code>${r.requestId ?? ""}</code></td>
        </tr>`,
    ),
  );
}

/** `audit`: the latest audit records to show, when the controller keeps them (--audit-log). */
export function renderPage(o: Overview, q: Query, audit?: readonly AuditRecord[]): string {
  const s = o.summary;
  return `<!doctype html>\n${html`<html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>refsync dashboard</title>
      ${raw(styleElement)}
    </head>
    <body>
      <header>
        <h1>refsync</h1>
        <dl aria-label="Controller">
          <div>
            <dt>Leader</dt>
            <dd id="leader">${s.leader ? "yes" : "no (standby replica)"}</dd>
          </div>
          <div>
            <dt>Queue depth</dt>
            <dd>${s.queueDepth}</dd>
          </div>
          <div>
            <dt>Reads in flight</dt>
            <dd>${s.inflightReads}</dd>
          </div>
          <div>
            <dt>As of</dt>
            <dd><time datetime="${o.generatedAt}">${o.generatedAt}</time></dd>
          </div>
        </dl>
      </header>
      <main>
        ${summaryCards(o)} ${filterForm(o, q)}
        <section aria-labelledby="h-stores">
          <h2 id="h-stores">Stores</h2>
          ${storeTable(o.stores)}
        </section>
        <section aria-labelledby="h-es">
          <h2 id="h-es">ExternalSecrets</h2>
          ${externalSecretTable(o.externalSecrets)}
        </section>
        <section aria-labelledby="h-chart">
          <h2 id="h-chart">Secret age against refresh interval</h2>
          ${ageChart(o.externalSecrets)}
        </section>
        <section aria-labelledby="h-secrets">
          <h2 id="h-secrets">Secrets and their consumers</h2>
          ${secretTable(o.secrets)}
        </section>
        <section aria-labelledby="h-events">
          <h2 id="h-events">Latest events</h2>
          ${eventTable(o)}
        </section>
        ${audit
          ? html`<section aria-labelledby="h-audit">
              <h2 id="h-audit">Who read what</h2>
              ${auditTable(audit)}
            </section>`
          : ""}
      </main>
    </body>
  </html>`}\n`;
}
