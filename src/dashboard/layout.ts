/**
 * The page shell: styles, header, and the small inline script that keeps a page live (it fetches
 * the page's `?part=main` fragment every few seconds and swaps it in, keeping open <details>).
 * The script runs under a per-response CSP nonce; nothing else on a page may run script.
 */
import { type Child, type Html, html, trusted } from './html.js';

/** How often a page refreshes its main part, ms. */
export const REFRESH_MS = 5_000;

const STYLE = `
:root { --fg:#111827; --muted:#6b7280; --line:#e5e7eb; --bg:#f9fafb; --card:#fff;
  --ok:#15803d; --ok-bg:#dcfce7; --bad:#b91c1c; --bad-bg:#fee2e2; --warn:#b45309; --warn-bg:#fef3c7;
  --info:#1d4ed8; --info-bg:#dbeafe; }
* { box-sizing: border-box; }
body { margin:0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color:var(--fg); background:var(--bg); }
header.top { display:flex; align-items:center; gap:24px; padding:10px 24px; background:#111827; color:#f9fafb; }
header.top a { color:#f9fafb; text-decoration:none; }
header.top .brand { font-weight:700; letter-spacing:.02em; }
header.top nav { display:flex; gap:16px; }
header.top .live { margin-left:auto; font-size:12px; color:#d1d5db; }
header.top .live::before { content:""; display:inline-block; width:8px; height:8px; border-radius:50%; background:#22c55e; margin-right:6px; vertical-align:middle; }
header.top .live.stale::before { background:#f59e0b; }
main { max-width:1000px; margin:0 auto; padding:20px 24px 40px; }
h1 { font-size:22px; margin:4px 0 12px; display:flex; align-items:center; gap:10px; flex-wrap:wrap; }
h2 { font-size:16px; margin:24px 0 8px; }
h3 { font-size:14px; margin:16px 0 6px; }
section.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 16px; margin:12px 0; }
table { border-collapse:collapse; width:100%; }
th, td { text-align:left; padding:5px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { font-weight:600; color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.03em; }
table.kv th { width:220px; text-transform:none; font-size:13px; letter-spacing:0; }
td.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
td.num div { white-space:normal; }
a { color:#1d4ed8; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size:12px; }
pre { background:#f3f4f6; border:1px solid var(--line); border-radius:6px; padding:10px; overflow:auto; max-height:420px; white-space:pre-wrap; word-break:break-all; }
.badge { display:inline-block; padding:1px 8px; border-radius:999px; font-size:12px; font-weight:600; border:1px solid transparent; white-space:nowrap; }
.v-compliant { color:var(--ok); background:var(--ok-bg); border-color:#86efac; }
.v-violation { color:var(--bad); background:var(--bad-bg); border-color:#fca5a5; }
.v-inconclusive { color:var(--warn); background:var(--warn-bg); border-color:#fcd34d; }
.v-unknown { color:var(--muted); background:#f3f4f6; border-color:var(--line); }
.s-violation { color:var(--bad); background:var(--bad-bg); }
.s-gap { color:var(--warn); background:var(--warn-bg); }
.s-info { color:var(--info); background:var(--info-bg); }
.up { color:var(--ok); font-weight:600; }
.down { color:var(--bad); font-weight:600; }
.muted { color:var(--muted); }
.small { font-size:12px; }
.finding { border-left:4px solid var(--line); padding:6px 12px; margin:10px 0; background:var(--card); border-radius:0 6px 6px 0; }
.finding.sev-violation { border-left-color:var(--bad); }
.finding.sev-gap { border-left-color:var(--warn); }
.finding.sev-info { border-left-color:var(--info); }
.finding:target { outline:2px solid #93c5fd; }
.finding p { margin:4px 0; }
ul.findings { list-style:none; padding:0; margin:4px 0; }
ul.findings li { margin:3px 0; }
.chart { margin:8px 0; overflow-x:auto; }
.chart svg { max-width:100%; height:auto; }
.asof { font-size:12px; color:var(--muted); margin:0 0 8px; }
.grid2 { display:grid; grid-template-columns:1fr 1fr; gap:12px; }
@media (max-width: 800px) { .grid2 { grid-template-columns:1fr; } }
`;

const SCRIPT = `(() => {
  const main = document.getElementById('main');
  const live = document.getElementById('live');
  if (!main || !live) return;
  let busy = false;
  document.body.dataset.refreshes = '0';
  async function tick() {
    if (busy || document.hidden) return;
    busy = true;
    try {
      const u = new URL(location.href);
      u.searchParams.set('part', 'main');
      const r = await fetch(u, { cache: 'no-store', headers: { accept: 'text/html' } });
      if (!r.ok) throw new Error('HTTP ' + r.status);
      const text = await r.text();
      const open = [...main.querySelectorAll('details[open][id]')].map((d) => d.id);
      main.innerHTML = text;
      for (const id of open) document.getElementById(id)?.setAttribute('open', '');
      live.classList.remove('stale');
      live.textContent = 'live · updated ' + new Date().toISOString().slice(11, 19) + 'Z';
      document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes) + 1);
    } catch (e) {
      live.classList.add('stale');
      live.textContent = 'stale · ' + (e && e.message ? e.message : 'refresh failed');
    } finally {
      busy = false;
    }
  }
  setInterval(tick, ${REFRESH_MS});
})();`;

export interface PageOptions {
  title: string;
  main: Html;
  nonce: string;
  /** whether the page refreshes itself (default true) */
  live?: boolean;
}

/** A whole page around its main part. */
export function page(o: PageOptions): Html {
  const live = o.live ?? true;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${o.title} · vpause verifier</title>
<style>${trusted(STYLE)}</style>
</head>
<body>
<header class="top">
<a class="brand" href="/">vpause verifier</a>
<nav><a href="/">Overview</a><a href="/openapi.json">API</a></nav>
${live ? html`<span id="live" class="live">live · refreshes every ${REFRESH_MS / 1000} s</span>` : null}
</header>
<main id="main">${o.main}</main>
${live ? html`<script nonce="${o.nonce}">${trusted(SCRIPT)}</script>` : null}
</body>
</html>
`;
}

/** A coloured verdict badge. */
export function verdictBadge(v: string | undefined): Html {
  const known = v === 'compliant' || v === 'violation' || v === 'inconclusive';
  return html`<span class="badge verdict ${known ? `v-${v}` : 'v-unknown'}">${v ?? 'no verdict'}</span>`;
}

/** A coloured severity badge. */
export function severityBadge(s: string): Html {
  const known = s === 'violation' || s === 'gap' || s === 'info';
  return html`<span class="badge severity ${known ? `s-${s}` : ''}">${s}</span>`;
}

/** A `th`/`td` table of key-value rows (rows whose value is null are left out). */
export function kv(rows: [string, Child][]): Html {
  return html`<table class="kv">${rows
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => html`<tr><th>${k}</th><td>${v}</td></tr>`)}</table>`;
}
