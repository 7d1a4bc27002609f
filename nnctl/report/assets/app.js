/* nnctl report pages: the page model (computed in Python), a router over location.hash and, under
   `nnctl view`, polling for a new model. Every number shown comes from the model; this code only
   lays it out. Text from results files is always inserted as text (never as HTML). */

let MODEL = JSON.parse(document.getElementById('nnctl-model').textContent);
const UI = { sort: {}, filter: {}, status: {}, selected: {}, log: {}, choice: {} };
let CHARTS = [];

/* --- DOM and formatting helpers ------------------------------------------------------------- */

function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'checked' || k === 'selected' || k === 'value') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}

/* for the few places ECharts takes HTML (tooltips) */
function escapeHtml(x) {
  return String(x).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

function fmt(v, digits) {
  if (v === null || v === undefined || (typeof v === 'number' && !isFinite(v))) return '–';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v !== 'number') return typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e6) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return Number(v.toPrecision(digits || 4)).toExponential();
  return String(Number(v.toPrecision(digits || 4)));
}

function pm(mean, std) {
  if (mean === null || mean === undefined) return '–';
  return std === null || std === undefined ? fmt(mean) : `${fmt(mean)} ± ${fmt(std, 2)}`;
}

function badge(text) {
  const t = text || 'unknown';
  return h('span', { class: 'badge ' + String(t).replace(/ /g, '-') }, t);
}

function link(kind, key, text) {
  return h('a', { href: '#/' + kind + '/' + encodeURIComponent(key) }, text || key);
}

function problems(list) {
  return list && list.length ? h('div', { class: 'problems' }, list.map(p => h('div', {}, p))) : null;
}

function section(title, ...kids) {
  return h('section', {}, h('h2', {}, title), kids);
}

function select(options, current, onchange, label) {
  const el = h('select', { onchange: e => onchange(e.target.value) },
    options.map(o => { const [value, text] = Array.isArray(o) ? o : [o, o];
      return h('option', { value, selected: String(value) === String(current) }, text); }));
  return label ? h('label', {}, label, el) : el;
}

function checkbox(label, checked, onchange) {
  return h('label', {}, h('input', { type: 'checkbox', checked, onchange: e => onchange(e.target.checked) }), label);
}

/* remember a choice per page (an axis, a metric) across re-renders and live updates */
function choice(name, fallback, allowed) {
  const v = UI.choice[name];
  return v !== undefined && (!allowed || allowed.includes(v)) ? v : fallback;
}
function choose(name, value) { UI.choice[name] = value; render(); }

/* --- routing ---------------------------------------------------------------------------------- */

function route() {
  const parts = (location.hash || '#/').slice(2).split('/');
  const kind = parts[0] || 'runs';
  const key = decodeURIComponent(parts.slice(1).join('/'));
  return { kind, key };
}

function nav(kind) {
  const n = document.getElementById('nav');
  n.replaceChildren();
  const items = [['runs', `Runs (${Object.keys(MODEL.runs).length})`]];
  const count = (o) => Object.keys(o || {}).length;
  if (count(MODEL.sweeps)) items.push(['sweeps', `Sweeps (${count(MODEL.sweeps)})`]);
  if (count(MODEL.experiments)) items.push(['experiments', `Experiments (${count(MODEL.experiments)})`]);
  if (count(MODEL.lrfinds)) items.push(['lrfinds', `LR finds (${count(MODEL.lrfinds)})`]);
  for (const [k, text] of items) n.append(h('a', { href: '#/' + k, class: kind === k ? 'on' : null }, text));
}

function render() {
  const scroll = window.scrollY;
  CHARTS.forEach(c => c.dispose());
  CHARTS = [];
  const { kind, key } = route();
  nav(kind);
  const main = document.getElementById('main');
  main.replaceChildren();
  const pages = {
    runs: () => runsPage(), sweeps: () => listPage('sweeps'), experiments: () => listPage('experiments'),
    lrfinds: () => listPage('lrfinds'), run: () => runPage(MODEL.runs[key]), sweep: () => sweepPage(MODEL.sweeps[key]),
    experiment: () => experimentPage(MODEL.experiments[key]), lrfind: () => lrfindPage(MODEL.lrfinds[key]),
  };
  const page = pages[kind];
  const target = ['run', 'sweep', 'experiment', 'lrfind'].includes(kind) && !(MODEL[kind === 'lrfind' ? 'lrfinds' : kind + 's'] || {})[key];
  if (!page || target) {
    main.append(h('h1', {}, 'Not found'), h('p', {}, `Nothing called “${key}” here. `, h('a', { href: '#/runs' }, 'All runs')));
  } else {
    main.append(...[].concat(page()).filter(Boolean));
  }
  drawPending();
  window.scrollTo(0, scroll);
  document.body.dataset.ready = '1';
  // when this route was drawn and painted (ms after navigation start): what the benchmark measures
  requestAnimationFrame(() => requestAnimationFrame(() => { window.nnctlPaintedMs = performance.now(); }));
}

/* charts are drawn after their elements are in the document (ECharts needs their size) */
let PENDING = [];
function later(fn) { PENDING.push(fn); }
function drawPending() { const todo = PENDING; PENDING = []; todo.forEach(fn => fn()); }

/* --- live updates under `nnctl view` ---------------------------------------------------------- */

function live() {
  const badgeEl = document.getElementById('live');
  if (!MODEL.live) { badgeEl.textContent = `report of ${MODEL.root} · ${MODEL.created}`; return; }
  badgeEl.textContent = 'live';
  let busy = false;
  setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const v = await (await fetch('api/version', { cache: 'no-store' })).json();
      if (v.version !== MODEL.version) {
        MODEL = await (await fetch('api/model.json', { cache: 'no-store' })).json();
        render();
      }
      badgeEl.className = 'live';
      badgeEl.textContent = 'live · updated ' + new Date().toLocaleTimeString();
    } catch (err) {
      badgeEl.className = 'live off';
      badgeEl.textContent = 'disconnected: the nnctl view server stopped';
    } finally { busy = false; }
  }, MODEL.poll_ms || 1500);
}

window.addEventListener('hashchange', () => { window.scrollTo(0, 0); render(); });
window.addEventListener('resize', () => CHARTS.forEach(c => c.resize()));
document.addEventListener('DOMContentLoaded', () => { render(); live(); });
