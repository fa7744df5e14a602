/** Served at `/app.css`. */
export const PAGE_CSS = `
:root {
  color-scheme: light dark;
  --bg: #f7f7f5; --panel: #ffffff; --text: #1d1f21; --muted: #6b7075; --line: #e3e4e1;
  --accent: #2f6fdb; --ok: #1f9d55; --warn: #c98a00; --bad: #d0342c; --bar: #2f6fdb33;
  font: 14px/1.4 ui-sans-serif, system-ui, -apple-system, "Segoe UI", sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #16181b; --panel: #1e2125; --text: #e6e6e3; --muted: #8d939a; --line: #2e3237; --bar: #4d8cf055; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); }
header { display: flex; align-items: center; gap: 24px; padding: 12px 20px; background: var(--panel); border-bottom: 1px solid var(--line); flex-wrap: wrap; }
h1 { font-size: 18px; margin: 0; letter-spacing: .02em; }
h2 { font-size: 14px; margin: 0 0 8px; }
.facts { display: flex; gap: 20px; margin: 0; flex-wrap: wrap; }
.facts div { display: flex; flex-direction: column; }
.facts dt { font-size: 11px; text-transform: uppercase; color: var(--muted); letter-spacing: .05em; }
.facts dd { margin: 0; font-variant-numeric: tabular-nums; }
.status { margin-left: auto; display: flex; align-items: center; gap: 6px; font-weight: 600; }
.status .dot { width: 10px; height: 10px; border-radius: 50%; background: var(--muted); }
.status[data-state="live"] .dot { background: var(--ok); }
.status[data-state="reconnecting"] .dot, .status[data-state="connecting"] .dot { background: var(--warn); }
.status[data-state="closed"] .dot, .status[data-state="unauthorized"] .dot { background: var(--bad); }
.banner { padding: 8px 20px; background: #fff4d6; color: #5c4300; border-bottom: 1px solid #f0dc9c; }
.banner.bad { background: #fde2e0; color: #6d1510; border-color: #f3b8b3; }
main { display: grid; grid-template-columns: minmax(0, 1fr) 380px; gap: 16px; padding: 16px 20px; }
@media (max-width: 1000px) { main { grid-template-columns: 1fr; } }
section.view, aside.log { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 12px; min-width: 0; }
.toolbar { display: flex; align-items: center; gap: 8px; margin-bottom: 10px; }
.toolbar input { flex: 1; padding: 6px 8px; border: 1px solid var(--line); border-radius: 4px; background: var(--bg); color: var(--text); font: inherit; }
.muted { color: var(--muted); }
table { width: 100%; border-collapse: collapse; }
th { text-align: left; font-size: 11px; text-transform: uppercase; color: var(--muted); letter-spacing: .05em; padding: 4px 8px; border-bottom: 1px solid var(--line); }
td { padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: middle; font-variant-numeric: tabular-nums; }
#nodes tbody tr { cursor: pointer; }
#nodes tbody tr:hover { background: var(--bg); }
#nodes tbody tr.selected { outline: 2px solid var(--accent); outline-offset: -2px; }
#nodes tbody tr.flash { animation: flash 1.2s ease-out; }
@keyframes flash { from { background: var(--bar); } to { background: transparent; } }
td.id { font-weight: 600; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
td.address { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
.chip { display: inline-block; margin: 1px 4px 1px 0; padding: 0 6px; border-radius: 10px; background: var(--bg); border: 1px solid var(--line); font-size: 12px; white-space: nowrap; max-width: 260px; overflow: hidden; text-overflow: ellipsis; }
.load { display: flex; align-items: center; gap: 6px; min-width: 120px; }
.load .bar { flex: 1; height: 8px; background: var(--line); border-radius: 4px; overflow: hidden; }
.load .fill { height: 100%; background: var(--accent); }
.load .fill.high { background: var(--warn); }
.load .fill.over { background: var(--bad); }
.load .num { width: 40px; text-align: right; }
button { font: inherit; font-size: 12px; padding: 2px 8px; border-radius: 4px; border: 1px solid var(--line); background: var(--bg); color: var(--text); cursor: pointer; }
button.unregister { color: var(--bad); border-color: var(--bad); }
button.unregister.armed { background: var(--bad); color: #fff; }
#history { margin-top: 16px; }
#history h2 button { margin-left: 8px; }
ol#events { list-style: none; margin: 0; padding: 0; max-height: calc(100vh - 170px); overflow-y: auto; font-size: 13px; }
ol#events li { padding: 4px 0; border-bottom: 1px solid var(--line); display: grid; grid-template-columns: 64px auto 1fr; gap: 6px; }
ol#events li .time { color: var(--muted); font-variant-numeric: tabular-nums; }
ol#events li .what { font-weight: 600; white-space: nowrap; }
ol#events li.joined .what { color: var(--ok); }
ol#events li.updated .what { color: var(--accent); }
ol#events li.left .what { color: var(--bad); }
ol#events li .node { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; overflow-wrap: anywhere; }
ol#events li .detail { grid-column: 3; color: var(--muted); overflow-wrap: anywhere; }
ol#events li.notice { color: var(--muted); display: block; }
`;
