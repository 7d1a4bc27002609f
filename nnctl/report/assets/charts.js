/* Chart helpers over Apache ECharts (vendored, inline). Each returns the element to place; the
   chart is drawn once the element is in the page. Lines: validation solid, training dashed. */

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f',
  '#bcbd22', '#17becf', '#393b79', '#637939', '#8c6d31', '#843c39', '#7b4173', '#3182bd', '#e6550d', '#31a354'];
const colour = (i) => PALETTE[i % PALETTE.length];

function drawInto(el, option) {
  const c = echarts.init(el, null, { renderer: 'canvas' });
  CHARTS.push(c);
  c.setOption(Object.assign({ animation: false, textStyle: { fontFamily: 'system-ui, sans-serif' } }, option));
  return c;
}

function chartBox(cls, draw) {
  const el = h('div', { class: 'chart ' + (cls || '') });
  later(() => drawInto(el, draw()));
  return el;
}

/* axis ticks: powers of ten as 1e-7, everything else with 3 significant digits */
const axisFmt = (v) => {
  const e = Math.log10(Math.abs(v));
  if (v !== 0 && Math.abs(e - Math.round(e)) < 1e-9 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e5)) return (v < 0 ? '-' : '') + '1e' + Math.round(e);
  return fmt(v, 3);
};
const positive = (v) => (v === null || v === undefined || !(v > 0) ? null : v);

/* a min–max band as one polygon (works on log axes too, unlike stacked areas) */
function band(name, xs, lo, hi, col) {
  const data = xs.map((x, i) => [x, lo[i], hi[i]]);
  return {
    type: 'custom', name, silent: true, z: 1, encode: { x: 0, y: [1, 2] }, tooltip: { show: false }, data,
    itemStyle: { color: col },
    renderItem: (params, api) => {
      if (params.dataIndex !== 0) return null;
      const top = data.map(d => api.coord([d[0], d[2]]));
      const bottom = data.map(d => api.coord([d[0], d[1]])).reverse();
      return { type: 'polygon', shape: { points: top.concat(bottom) }, style: { fill: col, opacity: 0.16 } };
    },
  };
}

/* series: [{name, x, y, colour, dashed, width, band: {lo, hi}, legend}] */
function lineChart(opts) { return chartBox(opts.cls, () => lineOption(opts)); }

function lineOption(opts) {
  {
    const log = !!opts.logY;
    const series = [];
    for (const s of opts.series) {
      const ys = log ? s.y.map(positive) : s.y;
      if (s.band) series.push(band(s.name, s.x, log ? s.band.lo.map(positive) : s.band.lo, log ? s.band.hi.map(positive) : s.band.hi, s.colour));
      series.push({
        type: 'line', name: s.name, data: s.x.map((x, i) => [x, ys[i]]), showSymbol: s.x.length < 40 && !s.noSymbol,
        symbolSize: 4, connectNulls: false, z: 2, itemStyle: { color: s.colour },
        lineStyle: { color: s.colour, width: s.width || 2, type: s.dashed ? 'dashed' : 'solid', opacity: s.opacity || 1 },
      });
    }
    if (opts.markX && opts.markX.length && series.length) {
      const first = series.find(s => s.type === 'line');
      first.markLine = { symbol: 'none', silent: true, animation: false,
        lineStyle: { color: '#555', type: 'dotted', width: 1.5 },
        label: { show: false },
        data: opts.markX.map(m => ({ xAxis: m.x, name: m.label })) };
    }
    let names = [...new Set(opts.series.filter(s => s.legend !== false).map(s => s.name))];
    if (opts.legend === false || names.length < 2) names = [];
    return {
      title: { text: opts.title, left: 0, textStyle: { fontSize: 14 } },
      legend: { show: names.length > 0, type: 'scroll', top: 28, data: names, textStyle: { fontSize: 12 } },
      grid: { left: 64, right: 30, top: names.length ? 70 : 44, bottom: 46 },
      tooltip: { trigger: 'axis', valueFormatter: axisFmt, confine: true },
      xAxis: { type: opts.logX ? 'log' : 'value', name: opts.xName || 'epoch', nameLocation: 'middle', nameGap: 28,
        min: opts.xMin, max: opts.xMax, minInterval: opts.logX ? null : 1, axisLabel: { formatter: axisFmt } },
      yAxis: { type: log ? 'log' : 'value', name: opts.yName, nameLocation: 'middle', nameGap: 48, scale: true,
        min: opts.yMin, max: opts.yMax, axisLabel: { formatter: axisFmt, showMinLabel: opts.yMin === undefined, showMaxLabel: opts.yMax === undefined } },
      series,
    };
  }
}

/* a matrix: xLabels across, yLabels down, cells [[x, y, value, extra]]; log colours; marks [[x, y]] */
function heatmapChart(opts) {
  return chartBox(opts.cls, () => {
    const log = !!opts.log;
    const tr = (v) => (v === null || v === undefined ? null : log ? (v > 0 ? Math.log10(v) : null) : v);
    const cells = opts.cells.map(c => [c[0], c[1], tr(c[2]), c[2], c[3]]).filter(c => c[2] !== null);
    const vals = cells.map(c => c[2]);
    const lo = opts.min !== undefined ? tr(opts.min) : Math.min(...vals);
    const hi = opts.max !== undefined ? tr(opts.max) : Math.max(...vals);
    const series = [{ type: 'heatmap', data: cells, encode: { x: 0, y: 1, value: 2 },
      label: { show: !!opts.labels, formatter: (p) => fmt(p.data[3], 3), fontSize: 12 },
      emphasis: { itemStyle: { borderColor: '#000', borderWidth: 1 } } }];
    if (opts.marks && opts.marks.length) {
      series.push({ type: 'scatter', name: 'rule fired', data: opts.marks, symbolSize: 10, z: 5, silent: true,
        symbol: 'path://M2,0L5,3L8,0L10,2L7,5L10,8L8,10L5,7L2,10L0,8L3,5L0,2Z',
        itemStyle: { color: '#ffffff', borderColor: '#000000', borderWidth: 1 } });
    }
    const colours = opts.colours || ['#0d0887', '#5c01a6', '#9c179e', '#cc4778', '#ed7953', '#fdb42f', '#f0f921'];
    return {
      title: { text: opts.title, left: 0, textStyle: { fontSize: 14 } },
      tooltip: { confine: true, formatter: (p) => p.seriesType === 'heatmap'
        ? `${escapeHtml(opts.yLabels[p.data[1]])} · ${escapeHtml(opts.xName || '')} ${escapeHtml(opts.xLabels[p.data[0]])}<br>${fmt(p.data[3], 4)}${p.data[4] !== undefined ? ` (n=${p.data[4]})` : ''}` : 'rule fired' },
      grid: { left: opts.left || 90, right: 86, top: 36, bottom: 44 },
      xAxis: { type: 'category', data: opts.xLabels.map(String), name: opts.xName, nameLocation: 'middle', nameGap: 28, splitArea: { show: false } },
      yAxis: { type: 'category', data: opts.yLabels.map(String), name: opts.yName, inverse: true, axisLabel: { fontSize: 11 } },
      visualMap: { type: 'continuous', min: isFinite(lo) ? lo : 0, max: isFinite(hi) && hi > lo ? hi : (isFinite(lo) ? lo + 1 : 1),
        dimension: 2, seriesIndex: 0, calculable: false, orient: 'vertical', right: 4, top: 'middle', itemHeight: 160,
        inRange: { color: opts.reverse ? colours.slice().reverse() : colours },
        text: [log ? fmt(Math.pow(10, hi), 2) : fmt(hi, 3), log ? fmt(Math.pow(10, lo), 2) : fmt(lo, 3)],
        formatter: (v) => log ? fmt(Math.pow(10, v), 2) : fmt(v, 3), textStyle: { fontSize: 11 } },
      series,
    };
  });
}

/* parallel coordinates: axes [{name, type, levels}], rows [[...values, score]] */
function parallelChart(opts) {
  return chartBox('tall', () => {
    const dims = opts.axes.map((a, i) => ({ dim: i, name: a.name, type: a.type === 'category' ? 'category' : a.type,
      data: a.type === 'category' ? a.levels : undefined, scale: a.type === 'value', axisLabel: { formatter: a.type === 'category' ? null : axisFmt } }));
    const s = dims.length;
    dims.push({ dim: s, name: opts.score + ' (better at the top)', nameLocation: opts.better === 'higher' ? 'start' : 'end',
      type: 'value', scale: true, inverse: opts.better !== 'higher', axisLabel: { formatter: axisFmt }, nameTextStyle: { fontWeight: 'bold' } });
    const scores = opts.rows.map(r => r[s]).filter(v => v !== null);
    return {
      title: { text: opts.title, left: 0, textStyle: { fontSize: 14 } },
      parallel: { left: 70, right: 150, top: 70, bottom: 36, parallelAxisDefault: { nameLocation: 'start', nameGap: 20,
        nameTextStyle: { fontSize: 13 }, areaSelectStyle: { width: 18 } } },
      parallelAxis: dims,
      visualMap: { type: 'continuous', dimension: s, min: Math.min(...scores), max: Math.max(...scores), right: 4, top: 'middle',
        text: [opts.better === 'higher' ? 'better' : 'worse', opts.better === 'higher' ? 'worse' : 'better'],
        inRange: { color: opts.better === 'higher' ? ['#d62728', '#fdb42f', '#1a9850'] : ['#1a9850', '#fdb42f', '#d62728'] },
        formatter: axisFmt, calculable: true },
      tooltip: { confine: true, formatter: (p) => opts.labels[p.dataIndex] },
      series: [{ type: 'parallel', data: opts.rows, lineStyle: { width: 1.6, opacity: 0.7 }, smooth: false,
        emphasis: { lineStyle: { width: 3, opacity: 1 } } }],
    };
  });
}

/* one axis's main effect: each value's seeds (dots), mean and ± std (bar), the best value marked */
function effectChart(opts) {
  return chartBox('short', () => {
    const levels = opts.levels.map(l => l.level);
    const seeds = [];
    opts.levels.forEach((l, i) => l.values.forEach(v => seeds.push([i, v])));
    const means = opts.levels.map((l, i) => [i, l.mean, l.std || 0, l.best ? 1 : 0]).filter(d => d[1] !== null);
    return {
      grid: { left: 64, right: 16, top: 16, bottom: 44 },
      tooltip: { confine: true, trigger: 'item', valueFormatter: axisFmt },
      xAxis: { type: 'category', data: levels, name: opts.axis, nameLocation: 'middle', nameGap: 28 },
      yAxis: { type: 'value', scale: true, name: opts.score, nameLocation: 'middle', nameGap: 48, axisLabel: { formatter: axisFmt } },
      series: [
        { type: 'scatter', name: 'seed', data: seeds, symbolSize: 6, itemStyle: { color: '#9ca3af' } },
        { type: 'custom', name: '± std', data: means, encode: { x: 0, y: 1 }, silent: true,
          renderItem: (p, api) => {
            const x = api.value(0), m = api.value(1), s = api.value(2);
            const a = api.coord([x, m - s]), b = api.coord([x, m + s]);
            const style = { stroke: api.value(3) ? '#1a9850' : '#1f2937', lineWidth: 2 };
            return { type: 'group', children: [
              { type: 'line', shape: { x1: a[0], y1: a[1], x2: b[0], y2: b[1] }, style },
              { type: 'line', shape: { x1: a[0] - 6, y1: a[1], x2: a[0] + 6, y2: a[1] }, style },
              { type: 'line', shape: { x1: b[0] - 6, y1: b[1], x2: b[0] + 6, y2: b[1] }, style }] };
          } },
        { type: 'scatter', name: 'mean', data: means.map(d => ({ value: [d[0], d[1]], itemStyle: { color: d[3] ? '#1a9850' : '#1f2937' } })),
          symbolSize: 11, z: 5 },
      ],
    };
  });
}

/* a scatter of score against a continuous axis (random search) */
function scatterChart(opts) {
  return chartBox('short', () => ({
    grid: { left: 64, right: 16, top: 16, bottom: 44 },
    tooltip: { confine: true, valueFormatter: axisFmt },
    xAxis: { type: opts.type === 'log' ? 'log' : opts.type === 'category' ? 'category' : 'value', name: opts.axis,
      nameLocation: 'middle', nameGap: 28, scale: true, axisLabel: { formatter: opts.type === 'category' ? null : axisFmt } },
    yAxis: { type: 'value', scale: true, name: opts.score, nameLocation: 'middle', nameGap: 48, axisLabel: { formatter: axisFmt } },
    series: [{ type: 'scatter', data: opts.points, symbolSize: 8, itemStyle: { color: '#1f77b4', opacity: 0.8 } }],
  }));
}
