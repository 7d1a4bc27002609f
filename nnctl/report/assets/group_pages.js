/* Pages: a sweep, an experiment, a learning-rate range test. */

function sweepPage(s) {
  const scores = s.scores.map(x => x.name);
  const score = choice('sweep:score', scores[0], scores);
  const better = (s.scores.find(x => x.name === score) || {}).better || 'lower';
  // pruned trials are listed, not compared: their curves stop at a rung (audited ones were judged there)
  const done = s.trials.filter(t => t.scores[score] !== undefined && t.run && t.status !== 'pruned');
  const pruned = s.trials.filter(t => t.status === 'pruned').length;
  const axes = s.axes;
  const counts = Object.entries(s.counts).map(([k, n]) => h('span', {}, badge(k), ` ${n} `));
  const base = Object.entries(s.base).filter(([k]) => k !== 'results_dir').map(([k, v]) => `${k}=${fmt(v)}`).join(' · ');
  const out = [
    h('div', { class: 'crumbs' }, h('a', { href: '#/runs' }, 'Runs'), ' › ', h('a', { href: '#/sweeps' }, 'Sweeps'), ' › ', s.id),
    h('h1', {}, s.id),
    h('p', { class: 'muted' }, `${s.kind || ''} sweep · ${s.trials.length} trials · axes ${axes.map(a => a.name).join(' × ')}`,
      s.repeats > 1 ? ` · ${s.repeats} seeds per point` : '', base ? ` · base: ${base}` : ''),
    h('div', { id: 'counts' }, counts),
    problems(s.problems),
  ];
  if (!scores.length) {
    out.push(h('p', {}, 'No trial has finished yet.'), section('Trials', sweepTrials(s)));
    return out;
  }
  out.push(h('div', { class: 'controls' }, select(scores, score, v => choose('sweep:score', v), 'score'),
    h('span', { class: 'muted small' }, `${better} is better · ${done.length} trials trained to their end`
      + (pruned ? ` · ${pruned} pruned, listed below but not compared (their curves stop at a rung)` : ''))));

  const paxes = axes.filter(a => a.name !== 'seed');
  const rows = done.map(t => [...paxes.map(a => a.type === 'category' ? String(t.values[a.name]) : t.values[a.name]), t.scores[score]]);
  const labels = done.map(t => escapeHtml(axes.map(a => `${a.name}=${fmt(t.values[a.name])}`).join(', ')) + `<br>${escapeHtml(score)} = ${fmt(t.scores[score], 4)}`);
  out.push(section('Parallel coordinates', h('p', { class: 'muted small' }, 'One line per finished trial (the seeds of a point are separate lines); drag along an axis to select a range.'),
    h('div', { class: 'card', id: 'parallel' }, parallelChart({ title: `${done.length} trials · colour: ${score}`, axes: paxes, rows, score, better, labels }))));

  const effects = s.effects[score] || {};
  out.push(section('Main effects', h('p', { class: 'muted small' },
    s.repeats > 1 ? 'Each value: the mean over seeds (each seed averaged over the other axes) ± their standard deviation; p: Welch’s t-test against the best value. p < 0.05: the difference is bigger than the seed noise.'
      : 'No repeats: the ± is the spread over the other axes\u2019 values, not seed noise; p: Welch’s t-test against the best value.'),
  h('div', { class: 'grid2' }, Object.entries(effects).map(([axis, e]) => h('div', { class: 'card', 'data-effect': axis }, h('h3', {}, axis),
    e.kind === 'scatter' ? scatterChart({ axis, score, points: e.points, type: (axes.find(a => a.name === axis) || {}).type }) : [
      effectChart({ axis, score, levels: e.levels }),
      h('table', { class: 'effects' }, h('tr', {}, ['value', 'mean ± std', 'n', 'p vs best', ''].map(t => h('th', {}, t))),
        e.levels.map(l => h('tr', { class: l.best ? 'best' : null }, h('td', { class: 'mono' }, l.level), h('td', { class: 'num' }, pm(l.mean, l.std)),
          h('td', { class: 'num' }, l.n), h('td', { class: 'num' + (l.p !== null && l.p < 0.05 ? ' sig' : '') }, l.best ? 'best' : l.p === null ? (l.why || '–') : fmt(l.p, 3)),
          h('td', { class: 'small muted' }, l.best ? '' : l.p === null ? '' : l.p < 0.05 ? 'differs beyond the noise' : 'within the noise'))))])))));

  const pairs = Object.keys(s.heatmaps[score] || {});
  if (pairs.length) {
    const discrete = axes.filter(a => !a.continuous && a.name !== 'seed').map(a => a.name);
    const ya = choice('sweep:hy', discrete[0], discrete), xa = choice('sweep:hx', discrete.find(a => a !== ya), discrete.filter(a => a !== ya));
    const key = `${ya}|${xa}` in s.heatmaps[score] ? `${ya}|${xa}` : `${xa}|${ya}`;
    const m = s.heatmaps[score][key];
    const flip = m.rows !== ya;
    const ay = axes.find(a => a.name === ya), ax = axes.find(a => a.name === xa);
    const cells = m.cells.map(c => flip ? [c[1], c[0], c[2], c[3]] : c);
    out.push(section('Heatmap of two axes', h('div', { class: 'controls' }, select(discrete, ya, v => choose('sweep:hy', v), 'rows'),
      select(discrete.filter(a => a !== ya), xa, v => choose('sweep:hx', v), 'columns'),
      h('span', { class: 'muted small' }, `mean ${score} over seeds and the other axes; brighter is better`)),
    h('div', { class: 'card', id: 'heatmap' }, heatmapChart({ title: `${score}: ${ya} × ${xa}`, xLabels: ax.levels, yLabels: ay.levels, cells, labels: true,
      xName: xa, yName: ya, reverse: better !== 'higher', left: 120 }))));
  }

  const colourAxes = axes.filter(a => a.name !== 'seed').map(a => a.name);
  const by = choice('sweep:by', colourAxes[0], colourAxes);
  const metrics = [...new Set(s.curves.flatMap(p => Object.keys(p.series)))];
  const metric = choice('sweep:curve', metrics.includes('val_acc') ? 'val_acc' : metrics[0], metrics);
  const byAxis = axes.find(a => a.name === by);
  const levels = byAxis ? byAxis.levels : [];
  const series = [];
  const log = !!UI.log['sweep:curves'];
  for (const p of s.curves) {
    const c = p.series[metric];
    if (!c) continue;
    const level = fmt(p.values[by]);
    const col = colour(Math.max(0, levels.indexOf(typeof p.values[by] === 'string' ? p.values[by] : level)));
    series.push({ name: `${by}=${level}`, x: c.epoch, y: c.mean, colour: col, width: 1.8, band: p.n > 1 ? { lo: c.min, hi: c.max } : null, noSymbol: true });
  }
  out.push(section('Curves grouped by an axis', h('div', { class: 'controls' }, select(colourAxes, by, v => choose('sweep:by', v), 'colour by'),
    select(metrics.map(m => [m, CURVE_LABELS[m] || m]), metric, v => choose('sweep:curve', v), 'curve'),
    checkbox('log scale', log, v => { UI.log['sweep:curves'] = v; render(); }),
    h('span', { class: 'legend-note' }, 'one line per point: the mean over its seeds, the band their min–max; click a legend entry to hide it')),
  h('div', { class: 'card', id: 'grouped' }, lineChart({ cls: 'tall', title: `${CURVE_LABELS[metric] || metric} by ${by}`, series, logY: log, yName: metric }))));
  out.push(section('Trials', sweepTrials(s)));
  return out;
}

function sweepTrials(s) {
  const id = 'sweep:' + s.key;
  if (!UI.sort[id]) UI.sort[id] = { col: 'best', dir: s.table.better === 'higher' ? -1 : 1 };
  return runsTable(id, s.table);
}

/* --- an experiment --------------------------------------------------------------------------- */

function experimentPage(e) {
  const out = [
    h('div', { class: 'crumbs' }, h('a', { href: '#/runs' }, 'Runs'), ' › ', h('a', { href: '#/experiments' }, 'Experiments'), ' › ', e.id),
    h('h1', {}, e.claim || e.id), problems(e.problems),
  ];
  if (!e.verdict) return out;
  const dist = (xs) => xs && xs.length ? xs.map(v => fmt(v, 3)).join(', ') : '–';
  out.push(
    h('blockquote', {}, e.hypothesis), e.source ? h('p', { class: 'small muted' }, 'Source: ', e.source) : null,
    h('div', { class: 'card', id: 'verdict' },
      h('div', { class: 'verdict' }, 'Verdict: ', badge(e.verdict), h('span', { class: 'small muted' }, ` ${e.seeds} seeds${e.fast ? ' (fast version)' : ''}; α = ${e.alpha}, one-sided`)),
      h('p', {}, 'Expectation: ', h('code', {}, e.expectation)),
      h('table', { id: 'comparisons' }, h('tr', {}, ['comparison', 'left', 'right', 'effect ± noise (s.e.)', 'n', 'test', 'p', 'verdict'].map(t => h('th', {}, t))),
        e.comparisons.map(c => [h('tr', {}, h('td', { class: 'mono' }, c.text), h('td', { class: 'num' }, fmt(c.left_mean)), h('td', { class: 'num' }, fmt(c.right_mean)),
          h('td', { class: 'num' }, `${c.effect > 0 ? '+' : ''}${fmt(c.effect)} ± ${fmt(c.noise, 2)}`), h('td', { class: 'num' }, c.n), h('td', { class: 'small' }, c.test),
          h('td', { class: 'num' }, fmt(c.p, 3)), h('td', {}, badge(c.verdict))),
        h('tr', {}, h('td', { colspan: 8, class: 'small muted' }, `per seed — left: ${dist(c.left)}; right: ${dist(c.right)}`))])),
      h('p', { class: 'small muted' }, 'Each comparison is judged against the seed-to-seed noise: SUPPORTED / NOT SUPPORTED when the one-sided test says so at α, otherwise INCONCLUSIVE.')));
  const metrics = e.metrics || [];
  const lossy = metrics.every(m => m.includes('loss'));
  const log = UI.log['exp:' + e.key] === undefined ? lossy : !!UI.log['exp:' + e.key];
  const series = [];
  e.groups.forEach((g, i) => metrics.forEach(m => {
    const c = g.curves[m];
    if (!c) return;
    series.push({ name: g.label, x: c.epoch, y: c.mean, colour: colour(i), dashed: m.startsWith('train'),
      band: c.n > 1 ? { lo: c.min, hi: c.max } : null, noSymbol: true });
  }));
  out.push(section('Curves: ' + metrics.join(' and '), h('div', { class: 'controls' }, checkbox('log scale', log, v => { UI.log['exp:' + e.key] = v; render(); }),
    h('span', { class: 'legend-note' }, `one colour per group; ${metrics.map(m => `${m} ${m.startsWith('train') ? 'dashed' : 'solid'}`).join(', ')}; line: mean over seeds, band: their min–max`)),
  h('div', { class: 'card', id: 'exp-curves' }, lineChart({ cls: 'tall', title: e.claim, series, logY: log, yName: metrics.join(' / ') }))));
  out.push(section('Terms', h('table', {}, h('tr', {}, ['term', 'mean', 'values'].map(t => h('th', {}, t))),
    (e.terms || []).map(t => h('tr', {}, h('td', { class: 'mono' }, t.selector), h('td', { class: 'num' }, fmt(t.value)), h('td', { class: 'small' }, dist(t.values)))))));
  out.push(section('Groups and sweeps', h('ul', {}, e.groups.map(g => h('li', {}, g.label, ': ', g.trials.map((k, i) => [i ? ', ' : '', link('run', k, MODEL.runs[k].id)]))),
    e.sweeps.map(k => h('li', {}, 'sweep ', link('sweep', k, MODEL.sweeps[k].id))))));
  return out;
}

/* --- a range test ------------------------------------------------------------------------------ */

function lrfindPage(l) {
  const series = [];
  for (const c of l.curves) {
    series.push({ name: `seed ${c.seed}`, x: c.lr, y: c.smoothed, colour: c.colour, width: 2, noSymbol: true });
    if (c.loss.length) series.push({ name: `seed ${c.seed}`, x: c.lr, y: c.loss, colour: c.colour, width: 0.7, opacity: 0.15, noSymbol: true, legend: false });
  }
  const names = Object.keys(l.colours);
  const el = lineChart({ cls: 'tall', title: 'smoothed training loss against the learning rate', series, logX: true, xName: 'learning rate (log scale)',
    yName: 'training loss', yMin: l.ylim ? l.ylim[0] : undefined, yMax: l.ylim ? l.ylim[1] : undefined });
  later(() => {  // the suggestions: a line at each one's geometric mean over seeds, its spread shaded, each seed's as a dot
    const chart = CHARTS[CHARTS.length - 1];
    const extra = names.map(n => {
      const s = l.spread[n] || {};
      const col = l.colours[n];
      return { type: 'scatter', name: n + (n === l.recommended ? ' (recommended)' : ''), color: col, symbolSize: n === l.recommended ? 13 : 10,
        itemStyle: { color: col, borderColor: '#000', borderWidth: n === l.recommended ? 1.5 : 0 },
        data: l.curves.map(c => c.points[n]).filter(p => p && p[1] !== null),
        markLine: s.geomean ? { symbol: 'none', silent: true, lineStyle: { color: col, type: 'dashed', width: n === l.recommended ? 2.5 : 1.5 },
          label: { formatter: `${n} ${fmt(s.geomean, 3)}`, color: col, position: 'insideEndTop' }, data: [{ xAxis: s.geomean }] } : undefined,
        markArea: s.min && s.max && s.max > s.min ? { silent: true, itemStyle: { color: col, opacity: 0.12 }, data: [[{ xAxis: s.min }, { xAxis: s.max }]] } : undefined };
    });
    const legend = [...new Set(series.filter(s => s.legend !== false).map(s => s.name)), ...extra.map(e => e.name)];
    chart.setOption({ series: chart.getOption().series.concat(extra), legend: { data: legend } });
  });
  return [
    h('div', { class: 'crumbs' }, h('a', { href: '#/runs' }, 'Runs'), ' › ', h('a', { href: '#/lrfinds' }, 'LR finds'), ' › ', l.id),
    h('h1', {}, 'Learning-rate range test'), h('p', { class: 'muted' }, l.title, ` · ${l.curves.length} seed(s)`), problems(l.problems),
    h('div', { class: 'card' }, h('div', { class: 'big' }, `--lr ${fmt(l.lr, 3)}`), h('p', {}, `recommended: ${l.recommended}. `, l.why || '')),
    h('div', { class: 'card', id: 'lrfind-chart' }, el,
      h('p', { class: 'legend-note' }, 'Seeds in blue/purple/grey shades (raw loss faint); suggestions in their own colours: ',
        names.map(n => h('span', { style: `color:${l.colours[n]};font-weight:600` }, n + ' ')), '— dashed line: geometric mean over seeds, shaded: min–max.')),
    section('Spread over seeds', h('table', { id: 'spread' }, h('tr', {}, ['suggestion', 'geometric mean ×/÷ factor', 'min', 'median', 'max'].map(t => h('th', {}, t))),
      names.map(n => { const s = l.spread[n] || {}; return h('tr', {}, h('td', { style: `color:${l.colours[n]};font-weight:600` }, n + (n === l.recommended ? ' (recommended)' : '')),
        h('td', { class: 'num' }, `${fmt(s.geomean, 3)} ×/÷ ${fmt(s.factor, 3)}`), h('td', { class: 'num' }, fmt(s.min, 3)), h('td', { class: 'num' }, fmt(s.median, 3)), h('td', { class: 'num' }, fmt(s.max, 3))); }))),
    section('Each seed', h('table', {}, h('tr', {}, ['seed', 'steps', ...names, 'stopped'].map(t => h('th', {}, t))),
      l.curves.map(c => h('tr', {}, h('td', { style: `color:${c.colour};font-weight:600` }, c.seed), h('td', { class: 'num' }, c.steps),
        names.map(n => h('td', { class: 'num' }, c.points[n] ? fmt(c.points[n][0], 3) : '–')), h('td', { class: 'small' }, c.stop_reason || ''))))),
  ];
}
