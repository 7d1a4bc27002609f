/* The runs table: sortable (click a header), filterable (words, or key=value for a column; a status
   menu), with a checkbox per run whose curves are overlaid below the table. */

const CURVE_LABELS = { val_acc: 'validation accuracy', val_loss: 'validation loss', val_mae: 'validation MAE',
  train_loss: 'training loss', train_acc: 'training accuracy', train_mae: 'training MAE', lr: 'learning rate',
  grad_norm: 'gradient norm' };

function tableColumns(table, withWhere) {
  const m = table.metric;
  const cols = [];
  if (withWhere) cols.push({ id: 'where', label: 'sweep', get: r => r.where ? r.where.split('/').pop() : '' });
  for (const k of table.keys) cols.push({ id: 'k:' + k, label: k, get: r => r.values[k], key: true });
  cols.push({ id: 'status', label: 'status', get: r => r.status });
  cols.push({ id: 'best', label: 'best ' + m, get: r => r.best, num: true, best: true });
  cols.push({ id: 'best_epoch', label: 'best epoch', get: r => r.best_epoch, num: true });
  cols.push({ id: 'final', label: 'final ' + m, get: r => r.final, num: true });
  cols.push({ id: 'test', label: table.test_metric || 'test', get: r => r.test, num: true });
  cols.push({ id: 'epochs', label: 'epochs', get: r => r.epochs, num: true });
  cols.push({ id: 'seconds', label: 'seconds', get: r => r.seconds, num: true });
  cols.push({ id: 'fit', label: 'fit', get: r => r.fit });
  cols.push({ id: 'warnings', label: 'warnings', get: r => r.warnings, num: true });
  return cols;
}

function compareValues(a, b) {
  const na = a === null || a === undefined || a === '', nb = b === null || b === undefined || b === '';
  if (na || nb) return na && nb ? 0 : na ? 1 : -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

function matches(row, cols, words) {
  return words.every(w => {
    const eq = w.indexOf('=');
    if (eq > 0) {
      const col = cols.find(c => c.label === w.slice(0, eq));
      return col ? fmt(col.get(row)).toLowerCase().startsWith(w.slice(eq + 1)) : false;
    }
    return [row.run, ...cols.map(c => fmt(c.get(row)))].some(t => String(t).toLowerCase().includes(w));
  });
}

function runsTable(id, table, opts) {
  opts = opts || {};
  const cols = tableColumns(table, opts.withWhere);
  const sortable = [{ id: 'run', label: 'run', get: r => r.run }, ...cols];
  if (!UI.selected[id]) {  // first view: the three best runs overlaid
    const sign = table.better === 'higher' ? -1 : 1;
    const best = table.rows.filter(r => r.key && r.best !== null).sort((a, b) => sign * (a.best - b.best)).slice(0, 3);
    UI.selected[id] = new Set(best.map(r => r.key));
  }
  const chosen = UI.selected[id];
  const box = h('div', { class: 'runs-table', 'data-table': id });
  const statuses = [...new Set(table.rows.map(r => r.status))];
  const count = h('span', { class: 'muted small' });
  const tbody = h('tbody');
  const overlay = h('div', { class: 'overlay' });
  let overlayChart = null;

  const shown = () => {
    const words = (UI.filter[id] || '').toLowerCase().split(/\s+/).filter(Boolean);
    const status = UI.status[id] || '';
    let rows = table.rows.filter(r => (!status || r.status === status) && matches(r, cols, words));
    const s = UI.sort[id];
    if (s) {
      const col = sortable.find(c => c.id === s.col);
      if (col) rows = rows.slice().sort((a, b) => {
        const an = col.get(a), bn = col.get(b);
        const blank = (v) => v === null || v === undefined || v === '';
        if (blank(an) || blank(bn)) return compareValues(an, bn);  // blanks last either way
        return s.dir * compareValues(an, bn);
      });
    }
    return rows;
  };

  const refresh = () => {
    const rows = shown();
    count.textContent = `${rows.length} of ${table.rows.length} runs shown · ${chosen.size} selected`;
    const bestValue = table.rows.reduce((acc, r) => r.best === null ? acc :
      acc === null ? r.best : table.better === 'higher' ? Math.max(acc, r.best) : Math.min(acc, r.best), null);
    tbody.replaceChildren(...rows.map(r => h('tr', { class: r.best !== null && r.best === bestValue ? 'best' : null, 'data-key': r.key || r.run },
      h('td', {}, r.key ? h('input', { type: 'checkbox', checked: chosen.has(r.key), title: 'overlay this run\'s curves',
        onchange: e => { e.target.checked ? chosen.add(r.key) : chosen.delete(r.key); refresh(); } }) : null),
      h('td', { class: 'mono runcell' }, r.key ? link('run', r.key, r.run) : r.run,
        r.problems && r.problems.length ? h('div', { class: 'small', style: 'color:#b3261e' }, r.problems.map(p => 'unreadable: ' + p).join('; ')) : null),
      cols.map(c => {
        const v = c.get(r);
        if (c.id === 'status') return h('td', { title: r.stop_reason || '' }, badge(v),
          r.audited ? h('span', { class: 'small muted' }, ' audited') : null);
        if (c.id === 'fit') return h('td', {}, v ? badge(v) : '–');
        if (c.id === 'where') return h('td', { class: 'small' }, r.where ? link('sweep', r.where, v) : '');
        if (c.id === 'warnings') return h('td', { class: 'num', title: (r.warning_text || []).join('\n') }, v ? `⚠ ${v}` : '');
        return h('td', { class: c.num ? 'num' : (c.key ? 'mono' : null) }, fmt(v));
      }))));
    drawOverlay();
  };

  const drawOverlay = () => {
    if (overlayChart) { overlayChart.dispose(); CHARTS = CHARTS.filter(c => c !== overlayChart); overlayChart = null; }
    overlay.replaceChildren();
    const runs = [...chosen].map(k => MODEL.runs[k]).filter(Boolean);
    if (!runs.length) { overlay.append(h('p', { class: 'muted' }, 'Tick runs in the table to overlay their curves.')); return; }
    const metrics = [...new Set(runs.flatMap(r => Object.keys(r.curve)))].filter(m => m.startsWith('val_') || m.startsWith('train_'));
    const metric = choice(id + ':metric', metrics.includes(table.metric) ? table.metric : metrics[0], metrics);
    const log = !!UI.log[id + ':overlay'];
    const partner = metric.startsWith('val_') ? 'train_' + metric.slice(4) : null;
    const series = [];
    runs.forEach((r, i) => {
      const label = r.id.length > 28 ? '…' + r.id.slice(-27) : r.id;
      if (r.curve[metric]) series.push({ name: label, x: r.curve.epoch, y: r.curve[metric], colour: colour(i) });
      if (partner && r.curve[partner]) series.push({ name: label, x: r.curve.epoch, y: r.curve[partner], colour: colour(i), dashed: true, width: 1.2, legend: false });
    });
    const el = h('div', { class: 'chart tall' });
    overlay.append(
      h('div', { class: 'controls' },
        select(metrics.map(m => [m, CURVE_LABELS[m] || m]), metric, v => { UI.choice[id + ':metric'] = v; drawOverlay(); }, 'curve'),
        checkbox('log scale', log, v => { UI.log[id + ':overlay'] = v; drawOverlay(); }),
        h('span', { class: 'legend-note' }, partner ? 'solid: validation · dashed: training' : '')),
      el);
    overlayChart = drawInto(el, lineOption({ title: `${runs.length} selected run${runs.length > 1 ? 's' : ''}: ${CURVE_LABELS[metric] || metric}`,
      series, logY: log, yName: metric }));
  };

  const header = h('tr', {}, h('th', {}, ''), h('th', { class: 'sortable', onclick: () => sortBy('run') }, 'run',
    UI.sort[id] && UI.sort[id].col === 'run' ? (UI.sort[id].dir > 0 ? ' ▲' : ' ▼') : ''),
    cols.map(c => h('th', { class: 'sortable' + (c.num ? ' num' : ''), onclick: () => sortBy(c.id) },
      c.label, UI.sort[id] && UI.sort[id].col === c.id ? (UI.sort[id].dir > 0 ? ' ▲' : ' ▼') : '')));
  const sortBy = (col) => {
    const s = UI.sort[id];
    const first = sortable.find(c => c.id === col);
    const bestFirst = first && first.best ? (table.better === 'higher' ? -1 : 1) : 1;
    UI.sort[id] = s && s.col === col ? { col, dir: -s.dir } : { col, dir: bestFirst };
    render();
  };

  box.append(
    h('div', { class: 'controls' },
      h('input', { type: 'search', placeholder: 'filter: words, or key=value (e.g. lr=0.03 status=completed)', value: UI.filter[id] || '',
        oninput: e => { UI.filter[id] = e.target.value; refresh(); } }),
      select([['', 'any status'], ...statuses], UI.status[id] || '', v => { UI.status[id] = v; refresh(); }),
      h('button', { onclick: () => { shown().forEach(r => r.key && chosen.add(r.key)); refresh(); } }, 'select shown'),
      h('button', { onclick: () => { chosen.clear(); refresh(); } }, 'clear selection'),
      count),
    h('div', { class: 'tablewrap' }, h('table', { class: 'runs' }, h('thead', {}, header), tbody)),
    overlay);
  later(refresh);
  return box;
}
