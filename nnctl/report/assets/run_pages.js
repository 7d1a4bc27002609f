/* Pages: all runs (with what else the report holds), lists, and one run. */

function summaryCards() {
  const cards = [];
  for (const e of Object.values(MODEL.experiments || {})) {
    cards.push(h('div', { class: 'card', 'data-experiment': e.key }, h('div', { class: 'small muted' }, 'experiment'),
      h('div', {}, link('experiment', e.key, e.claim || e.id)), h('div', {}, e.verdict ? badge(e.verdict) : badge('unknown'),
        e.seeds ? h('span', { class: 'small muted' }, ` ${e.seeds} seeds${e.fast ? ', fast version' : ''}`) : null)));
  }
  for (const s of Object.values(MODEL.sweeps || {})) {
    const counts = Object.entries(s.counts).map(([k, n]) => `${n} ${k}`).join(', ');
    cards.push(h('div', { class: 'card', 'data-sweep': s.key }, h('div', { class: 'small muted' }, `${s.kind || ''} sweep`),
      h('div', { class: 'mono' }, link('sweep', s.key, s.id)),
      h('div', { class: 'small' }, `${s.trials.length} trials: ${counts}`),
      h('div', { class: 'small muted' }, 'axes: ' + s.axes.map(a => a.name).join(' × '))));
  }
  for (const l of Object.values(MODEL.lrfinds || {})) {
    cards.push(h('div', { class: 'card', 'data-lrfind': l.key }, h('div', { class: 'small muted' }, 'learning-rate range test'),
      h('div', { class: 'mono' }, link('lrfind', l.key, l.id)),
      h('div', {}, `recommended (${l.recommended || '?'}): `, h('b', {}, fmt(l.lr, 3))), h('div', { class: 'small muted' }, l.title)));
  }
  return cards.length ? h('div', { class: 'cards' }, cards) : null;
}

function runsPage() {
  const t = MODEL.table;
  return [
    h('h1', {}, 'Runs'),
    h('p', { class: 'muted' }, `${t.rows.length} runs under ${MODEL.root}. Columns: only the options that differ between the runs; `,
      `best and final ${t.metric} (${t.better} is better), the test metric of the returned model, and a fit verdict from the curves.`),
    MODEL.notes && MODEL.notes.length ? h('div', { class: 'notes' }, MODEL.notes.map(n => h('div', {}, n))) : null,
    summaryCards(),
    t.rows.length ? section('All runs', runsTable('all', t, { withWhere: Object.keys(MODEL.sweeps).length > 0 })) : h('p', {}, 'No runs found.'),
  ];
}

function listPage(kind) {
  const items = Object.values(MODEL[kind] || {});
  const names = { sweeps: 'Sweeps', experiments: 'Experiments', lrfinds: 'Learning-rate range tests' };
  const one = { sweeps: 'sweep', experiments: 'experiment', lrfinds: 'lrfind' }[kind];
  return [h('h1', {}, names[kind]), h('ul', {}, items.map(i => h('li', {}, link(one, i.key, i.claim || i.id),
    i.verdict ? [' ', badge(i.verdict)] : null, i.counts ? h('span', { class: 'muted' }, ' ' + Object.entries(i.counts).map(([k, n]) => `${n} ${k}`).join(', ')) : null)))];
}

/* --- one run ---------------------------------------------------------------------------------- */

function fitBox(fit, run) {
  const n = fit.numbers || {};
  const kind = n.metric === 'mae' ? 'MAE' : 'accuracy';
  const rows = n.best_epoch === undefined ? [] : [
    ['', `best epoch ${n.best_epoch}`, `last epoch ${n.last_epoch}`],
    ['training loss', fmt(n.train_loss_best), fmt(n.train_loss_last)],
    ['validation loss', fmt(n.val_loss_best), fmt(n.val_loss_last)],
    ['gap (validation − training loss)', fmt(n.gap_loss_best), fmt(n.gap_loss_last)],
    [n.metric === 'mae' ? 'gap (validation − training MAE)' : 'gap (training − validation accuracy)', fmt(n.gap_metric_best), fmt(n.gap_metric_last)],
  ];
  return h('div', { class: 'card', id: 'fit' },
    h('div', { class: 'verdict' }, 'Fit: ', badge(fit.verdict), fit.also && fit.also.length ? h('span', { class: 'small muted' }, ' also ' + fit.also.join(', ')) : null),
    h('p', {}, fit.reason),
    rows.length ? h('table', { class: 'fit-numbers', style: 'max-width:640px' }, rows.map((r, i) => h('tr', {}, r.map((c, j) =>
      (i === 0 ? h('th', { class: j ? 'num' : null }, c) : h('td', { class: j ? 'num' : null }, c)))))) : null,
    h('p', { class: 'small muted' }, `Training ${kind} and loss are means over each epoch's minibatches (dropout and augmentation on); `,
      'validation is measured after the epoch. Overfitting: validation loss 10% above its minimum while training loss falls, or training accuracy 0.05 above validation. ',
      'Underfitting: training loss down by less than half, or still improving at the end.'));
}

function curvePair(run, kind, title, yName) {
  const c = run.curve;
  const series = [];
  if (c['train_' + kind]) series.push({ name: 'training', x: c.epoch, y: c['train_' + kind], colour: '#1f77b4', dashed: true });
  if (c['val_' + kind]) series.push({ name: 'validation', x: c.epoch, y: c['val_' + kind], colour: '#ff7f0e' });
  if (!series.length) return null;
  const id = run.key + ':' + kind;
  const marks = run.best_epoch !== null && run.best_epoch !== undefined ? [{ x: run.best_epoch, label: `best epoch ${run.best_epoch} (${run.monitor})` }] : [];
  return h('div', { class: 'card', 'data-chart': kind },
    h('div', { class: 'controls' }, checkbox('log scale', !!UI.log[id], v => { UI.log[id] = v; render(); })),
    lineChart({ title: title + (marks.length ? ` · dotted line: best epoch ${run.best_epoch} (by ${run.monitor})` : ''), series, logY: !!UI.log[id], yName, markX: marks }));
}

function singleCurve(run, column, title, log) {
  const c = run.curve;
  if (!c[column]) return null;
  return h('div', { class: 'card', 'data-chart': column },
    lineChart({ cls: 'short', title, series: [{ name: column, x: c.epoch, y: c[column], colour: '#374151' }], logY: log, yName: column, legend: false }));
}

function diagnosticsSection(run) {
  const d = run.diagnostics;
  if (!d) return null;
  const maps = d.heatmaps.map(m => {
    const cells = [];
    m.values.forEach((row, i) => row.forEach((v, j) => { if (v !== null) cells.push([j, i, v]); }));
    const bounded = ['dead', 'saturated', 'symmetry'].includes(m.stat);
    return h('div', { class: 'card', 'data-heatmap': m.stat },
      heatmapChart({ title: m.title + (m.log ? ' (log colour)' : ''), xLabels: m.epochs, yLabels: m.layers, cells, log: m.log,
        marks: m.marks, xName: 'epoch', min: bounded || m.stat === 'act_std' ? 0 : undefined, max: bounded ? 1 : undefined,
        cls: m.layers.length > 10 ? 'tall' : '' }),
      h('div', { class: 'small muted' }, m.marks.length ? `× ${m.marks.length} cell(s) where a rule holds` : 'no rule fired here'));
  });
  const first = {};
  for (const f of d.fired) { const k = f.rule + '@' + f.layer; if (!first[k]) first[k] = Object.assign({ count: 0 }, f); first[k].count++; }
  const rules = Object.values(first);
  const ratio = d.grad_ratio ? h('div', { class: 'card' }, lineChart({ cls: 'short', title: 'first/last layer gradient-norm ratio (vanishing < 1e-3, exploding > 1e3)',
    series: [{ name: 'ratio', x: d.grad_ratio.epoch, y: d.grad_ratio.value, colour: '#374151' }], logY: true, yName: 'ratio' })) : null;
  return section('Diagnostics: which layers vanish, die or saturate',
    h('p', { class: 'muted' }, 'Each heatmap: layers down (input at the top), epochs across, measured on a fixed probe of training samples in evaluation mode. ',
      'A × marks a cell where a diagnostics rule holds (more than half of the units dead or saturated, an update ratio outside [1e-5, 1e-1], identical units after epoch 0; on the gradient-norm map, an epoch whose first/last gradient ratio is outside [1e-3, 1e3]).'),
    h('div', { class: 'grid2' }, maps), ratio,
    rules.length ? h('div', { class: 'card' }, h('h3', {}, 'Rules that fired'), h('table', { id: 'rules' },
      h('tr', {}, ['rule', 'layer', 'first epoch', 'epochs', 'value then', 'meaning'].map((t, i) => h('th', { class: i >= 2 && i <= 4 ? 'num' : null }, t))),
      rules.map(r => h('tr', {}, h('td', {}, r.rule), h('td', { class: 'mono' }, r.layer), h('td', { class: 'num' }, r.epoch),
        h('td', { class: 'num' }, r.count), h('td', { class: 'num' }, fmt(r.value, 3)), h('td', {}, r.why))))) : h('p', {}, 'No diagnostics rule fired.'));
}

function configTable(run) {
  const given = run.given || {};
  const rows = Object.entries(run.config).map(([k, v]) => h('tr', {}, h('td', { class: k in given ? 'given' : null }, k),
    h('td', { class: 'mono' }, fmt(v))));
  return h('table', { class: 'kv' }, rows);
}

function runPage(run) {
  const where = run.where ? MODEL.sweeps[run.where] : null;
  const kind = run.curve.val_mae || run.curve.train_mae ? 'mae' : 'acc';
  return [
    h('div', { class: 'crumbs' }, h('a', { href: '#/runs' }, 'Runs'), where ? [' › ', link('sweep', where.key, where.id)] : null, ' › ', run.id),
    h('h1', {}, run.id, ' ', badge(run.status)),
    h('p', { class: 'muted' }, run.title, run.stop_reason ? ` · stopped: ${run.stop_reason}` : ''),
    problems(run.problems),
    fitBox(run.fit, run),
    h('div', { class: 'grid2' },
      curvePair(run, 'loss', 'loss', 'loss'),
      curvePair(run, kind, kind === 'acc' ? 'accuracy' : 'mean absolute error', kind === 'acc' ? 'accuracy' : 'MAE')),
    h('div', { class: 'grid2' },
      singleCurve(run, 'lr', 'learning rate per epoch', false),
      singleCurve(run, 'grad_norm', 'gradient norm of the epoch\'s last step (before clipping)', true)),
    diagnosticsSection(run),
    run.warnings.length ? section('Warnings', h('ul', { class: 'warnings', id: 'warnings' }, run.warnings.map(w => h('li', {}, w)))) : null,
    section('Configuration',
      h('p', { class: 'small muted' }, 'Every option as resolved; the ones set by hand in bold. ',
        `Data: ${run.data.name || '?'} (${run.data.n_train || '?'} training, ${run.data.n_val || 0} validation, ${run.data.n_test || 0} test samples); `,
        `${fmt(run.params)} parameters.`),
      h('div', { class: 'grid2' }, h('div', { class: 'card' }, configTable(run)),
        h('div', { class: 'card' }, h('h3', {}, 'Layers'), h('table', {}, h('tr', {}, h('th', {}, '#'), h('th', {}, 'layer'), h('th', {}, 'output'), h('th', { class: 'num' }, 'params')),
          run.layers.map(l => h('tr', {}, h('td', {}, l.index), h('td', { class: 'mono' }, l.layer), h('td', { class: 'mono' }, JSON.stringify(l.output_shape)), h('td', { class: 'num' }, fmt(l.params))))),
          h('h3', {}, 'Versions'), h('p', { class: 'small mono' }, Object.entries(run.provenance).filter(([, v]) => typeof v !== 'object').map(([k, v]) => `${k} ${v}`).join(' · '))))),
  ];
}
