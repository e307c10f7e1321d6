// The SuperCache dashboard: polls /dashboard/state once a second and draws
// it. Plain browser JavaScript, no build step; every value from the server
// goes into the page as text (textContent), never as HTML.

const POLL_MS = 1000;
const PALETTE = [
  '#3b7dd8',
  '#e0663a',
  '#2e9e6a',
  '#9b59b6',
  '#d4a017',
  '#17a2b8',
  '#c2417a',
  '#6c8e23',
  '#7f6a5a',
  '#4b5bd6',
  '#b8563d',
  '#5a9ea8',
];
const TOKEN_KEY = 'supercache.dashboard.token';
const colours = new Map();

function colourOf(id) {
  if (!colours.has(id)) colours.set(id, PALETTE[colours.size % PALETTE.length]);
  return colours.get(id);
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function text(id, value) {
  const e = document.getElementById(id);
  if (e.textContent !== value) e.textContent = value;
}

// A token given as /dashboard#token=… is kept for this tab, then removed from the address bar.
function readToken() {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m !== null) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

async function getJson(path) {
  const token = readToken();
  const headers = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(path, { headers, cache: 'no-store' });
  if (response.status === 401 || response.status === 403) {
    const e = new Error('a valid bearer token is needed');
    e.auth = true;
    throw e;
  }
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

function fmtMs(ms) {
  if (ms < 0) return '—';
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  return `${Math.round(ms)} ms`;
}

function renderMembers(state) {
  const body = document.getElementById('members');
  body.replaceChildren(
    ...state.members.map((m) => {
      const badges = el('td', {});
      badges.append(
        el('span', { class: `badge ${m.alive ? 'up' : 'down'}`, text: m.alive ? 'alive' : 'unreachable' }),
      );
      if (m.leader) badges.append(el('span', { class: 'badge', text: 'leader' }));
      if (m.id === state.node) badges.append(el('span', { class: 'badge', text: 'this node' }));
      const swatch = el('span', { class: 'swatch' });
      swatch.style.background = colourOf(m.id);
      const name = el('td', {}, swatch, m.id);
      return el(
        'tr',
        { 'data-testid': 'member', 'data-node': m.id },
        name,
        el('td', { text: m.address }),
        badges,
        el('td', { text: fmtMs(m.rttMs) }),
        el('td', { text: String(m.primaries) }),
        el('td', { text: String(m.backups) }),
      );
    }),
  );
}

function renderLegend(state) {
  const legend = document.getElementById('legend');
  legend.replaceChildren(
    ...state.members.map((m) => {
      const swatch = el('span', { class: 'swatch' });
      swatch.style.background = colourOf(m.id);
      return el('span', {}, swatch, m.id);
    }),
  );
}

function renderTables(state) {
  const root = document.getElementById('tables');
  root.replaceChildren(
    ...state.tables.map((t) => {
      const box = el('div', { 'data-testid': 'table', 'data-table': t.name });
      const owned = Object.entries(t.owned)
        .map(([n, c]) => `${n}: ${c}`)
        .join(', ');
      box.append(el('h3', { text: `${t.name} (${t.placement}) — ${owned}` }));
      if (t.replication !== undefined) {
        const r = t.replication;
        box.append(
          el('p', {
            class: 'hint',
            text: `replication ${r.copies}/${r.factor} copies, shortfall ${r.shortfall}, max lag ${r.maxLagRecords} records / ${fmtMs(r.maxLagMs)}, out of sync ${r.outOfSync}`,
          }),
        );
      }
      if (t.partitions.length === 0) return box;
      const grid = el('div', { class: 'grid', 'data-testid': 'partition-grid' });
      t.partitions.forEach((copies, p) => {
        const primary = el('span', { class: 'primary', text: String(p) });
        primary.style.background = colourOf(copies[0] ?? '');
        const replicas = el('span', { class: 'replicas' });
        for (const r of copies.slice(1)) {
          const s = el('span', {});
          s.style.background = colourOf(r);
          replicas.append(s);
        }
        const title = `partition ${p}: primary ${copies[0] ?? 'none'}${copies.length > 1 ? `, replicas ${copies.slice(1).join(', ')}` : ''}`;
        grid.append(
          el(
            'div',
            { class: 'cell', title, 'data-testid': 'partition', 'data-primary': copies[0] ?? '' },
            primary,
            replicas,
          ),
        );
      });
      box.append(grid);
      return box;
    }),
  );
}

function bar(progress, aborted) {
  const inner = el('span', { class: 'fill' });
  inner.style.width = `${Math.round(Math.max(0, Math.min(1, progress)) * 100)}%`;
  return el(
    'div',
    {
      class: `bar${aborted ? ' aborted' : ''}`,
      role: 'progressbar',
      'aria-valuenow': String(Math.round(progress * 100)),
    },
    inner,
  );
}

function renderHandoffs(state) {
  const h = state.handoffs;
  text(
    'handoff-summary',
    `${h.active.length} in progress · ${h.committed} committed · ${h.aborted} aborted (led by this node)`,
  );
  document.getElementById('handoffs-active').replaceChildren(
    ...h.active.map((a) =>
      el(
        'li',
        { 'data-testid': 'handoff-active' },
        el('span', {
          text: `${a.id} — ${a.role}${a.peer ? ` ↔ ${a.peer}` : ''}${a.table ? ` (${a.table})` : ''}: ${a.phase}, ${a.entries} entries`,
        }),
        bar(a.progress, false),
      ),
    ),
  );
  document.getElementById('handoffs-recent').replaceChildren(
    ...h.recent
      .slice(-5)
      .reverse()
      .map((r) =>
        el(
          'li',
          {},
          el('span', {
            text: `${new Date(r.at).toLocaleTimeString()} ${r.id}: ${r.phase}, ${r.entries} entries in ${fmtMs(r.durationMs)}${r.error ? ` (${r.error})` : ''}`,
          }),
          bar(1, r.phase === 'aborted'),
        ),
      ),
  );
}

const SVG = 'http://www.w3.org/2000/svg';

function chart(id, lines) {
  const svg = document.getElementById(id);
  const w = 300;
  const h = 80;
  let max = 0;
  for (const l of lines) for (const v of l.values) if (v > max) max = v;
  if (max === 0) max = 1;
  svg.replaceChildren(
    ...lines.map((l) => {
      const n = l.values.length;
      const pts = l.values.map((v, i) => `${n <= 1 ? 0 : (i / (n - 1)) * w},${h - 2 - (v / max) * (h - 6)}`);
      const poly = document.createElementNS(SVG, 'polyline');
      poly.setAttribute('class', `line ${l.class}`);
      poly.setAttribute('points', pts.join(' '));
      return poly;
    }),
  );
}

function renderSeries(state) {
  const s = state.series;
  const ops = s.map((p) => p.ops);
  const errors = s.map((p) => (p.ops === 0 ? 0 : (p.errors / p.ops) * 100));
  chart('chart-ops', [{ class: 'ops', values: ops }]);
  chart('chart-errors', [{ class: 'errors', values: errors }]);
  chart('chart-latency', [
    { class: 'mean', values: s.map((p) => p.meanMs) },
    { class: 'p99', values: s.map((p) => p.p99Ms) },
  ]);
  const last = s[s.length - 1];
  text('ops-now', String(last?.ops ?? 0));
  text('errors-now', `${(errors[errors.length - 1] ?? 0).toFixed(1)} %`);
  text('latency-now', last === undefined ? '—' : `${fmtMs(last.meanMs)} / ${fmtMs(last.p99Ms)}`);
}

function renderAlerts(health) {
  const alerts = Array.isArray(health?.alerts) ? health.alerts : [];
  document.getElementById('alerts-section').hidden = alerts.length === 0;
  document.getElementById('alerts').replaceChildren(
    ...alerts.map((a) =>
      el('li', {
        'data-testid': 'alert',
        text: typeof a === 'string' ? a : (a.message ?? JSON.stringify(a)),
      }),
    ),
  );
}

function render(state, health) {
  document.body.dataset.epoch = String(state.epoch);
  text('node', state.node);
  text('state', state.state);
  text('epoch', String(state.epoch));
  text('leader', state.leader ?? '—');
  text('member-count', String(state.members.length));
  for (const m of state.members) colourOf(m.id);
  renderMembers(state);
  renderLegend(state);
  renderTables(state);
  renderHandoffs(state);
  renderSeries(state);
  renderAlerts(health);
}

async function poll() {
  const status = document.getElementById('connection');
  try {
    const [state, health] = await Promise.all([
      getJson('/dashboard/state'),
      getJson('/health').catch(() => undefined),
    ]);
    render(state, health);
    status.textContent = `updated ${new Date(state.at).toLocaleTimeString()}`;
    status.classList.remove('error');
    document.getElementById('login').hidden = true;
  } catch (e) {
    status.textContent = e.message;
    status.classList.add('error');
    if (e.auth) {
      sessionStorage.removeItem(TOKEN_KEY);
      document.getElementById('login').hidden = false;
    }
  }
  setTimeout(poll, POLL_MS);
}

document.getElementById('login').addEventListener('submit', (event) => {
  event.preventDefault();
  const value = document.getElementById('token').value.trim();
  if (value !== '') sessionStorage.setItem(TOKEN_KEY, value);
});

void poll();
