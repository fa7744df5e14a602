// The dashboard's one page. Static: no data is ever interpolated into it (the script fills it in
// with textContent), so nothing a node's metadata holds can become markup.

/** Served at `/`. */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Roster</title>
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<header>
  <h1>Roster</h1>
  <dl class="facts">
    <div><dt>backend</dt><dd id="backend">…</dd></div>
    <div><dt>namespace</dt><dd id="namespace">…</dd></div>
    <div><dt>ttl</dt><dd id="ttl">…</dd></div>
    <div><dt>nodes</dt><dd id="count">…</dd></div>
    <div><dt>events</dt><dd id="event-counts">…</dd></div>
  </dl>
  <div id="status" class="status" data-state="connecting"><span class="dot"></span><span id="status-text">connecting</span></div>
</header>
<div id="banner" class="banner" hidden></div>
<main>
  <section class="view">
    <div class="toolbar">
      <label for="filter">filter</label>
      <input id="filter" type="search" placeholder="role=api zone=eu-1 (every pair must match; a word matches id or address)" autocomplete="off" spellcheck="false">
      <span id="shown" class="muted"></span>
    </div>
    <table id="nodes">
      <thead><tr><th>id</th><th>address</th><th>metadata</th><th>load</th><th>age</th><th>last seen</th><th class="actions-col"></th></tr></thead>
      <tbody></tbody>
    </table>
    <p id="empty" class="muted" hidden>No nodes.</p>
    <section id="history" hidden>
      <h2>History of <span id="history-id"></span> <button id="history-close" type="button" title="close">×</button></h2>
      <p id="history-note" class="muted"></p>
      <table id="history-table">
        <thead><tr><th></th><th>written</th><th>address</th><th>load</th><th>instance</th><th>metadata</th></tr></thead>
        <tbody></tbody>
      </table>
    </section>
  </section>
  <aside class="log">
    <h2>Events <span id="since" class="muted"></span></h2>
    <ol id="events"></ol>
  </aside>
</main>
</body>
</html>
`;
