// The demo's charts: uPlot line charts that grow one epoch at a time, a chart of methods
// (time against closeness to the exact reference), and small HTML bars.
import uPlot from '/node_modules/uplot/dist/uPlot.esm.js';

/**
 * A line chart over epochs in `container`; returns add(epoch, values) and reset(). The
 * legend shows the last epoch's values (not "--" until the pointer is over the chart).
 * @param {HTMLElement} container
 * @param {{label: string, stroke: string, scale?: string}[]} series
 * @param {{y: string, acc?: string}} titles the left axis's title, and the right one's
 *   (for series on the 'acc' scale)
 */
export function epochChart(container, series, titles) {
  const showLast = (u) => {
    if (u.data[0].length > 0) u.setLegend({ idx: u.data[0].length - 1 });
  };
  let plot = null;
  let data = [[], ...series.map(() => [])];
  const make = () => {
    container.replaceChildren();
    const width = Math.max(240, Math.min(container.clientWidth || 600, 720));
    plot = new uPlot({
      width,
      height: 200,
      scales: { x: { time: false } },
      axes: [
        { label: 'epoch', incrs: [1, 2, 5, 10] },
        { scale: 'y', label: titles.y },
        ...(titles.acc ? [{ scale: 'acc', side: 1, grid: { show: false }, label: titles.acc }] : []),
      ],
      series: [{ label: 'epoch' }, ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 2, scale: s.scale ?? 'y', points: { show: true } }))],
      // The legend shows the last epoch once the plot is drawn and whenever data arrives.
      hooks: { ready: [showLast], setData: [showLast] },
    }, data, container);
    // uPlot draws axis titles on its canvas; the page names them too (for readers and tests).
    container.dataset.axisTitles = plot.axes.map((a) => a.label ?? '').join('|');
  };
  return {
    add(epoch, values) {
      if (!plot) make();
      data[0].push(epoch);
      values.forEach((v, i) => data[i + 1].push(v));
      plot.setData(data);
    },
    reset() {
      data = [[], ...series.map(() => [])];
      plot?.destroy();
      plot = null;
      container.replaceChildren();
    },
  };
}

/**
 * Methods as points in `container`: time (x) against the gap to the reference (y), one
 * named series per method, the reference drawn larger in its own colour. Replaces what
 * was drawn there before.
 * @param {HTMLElement} container
 * @param {{label: string, seconds: number, gap: number, reference?: boolean}[]} points
 */
export function methodsChart(container, points) {
  const colours = ['#2457c5', '#b42318', '#8a5a00', '#6b3fa0', '#00707a', '#5b6470', '#c0398b', '#3f7f1e'];
  // uPlot shares one x array between series: each method has its value at its own time
  // and nothing elsewhere.
  const xs = [...new Set(points.map((p) => p.seconds))].sort((a, b) => a - b);
  const series = points.map((p) => xs.map((x) => (x === p.seconds ? p.gap : null)));
  let next = 0;
  const styled = points.map((p) => {
    const colour = p.reference ? '#1a7f37' : colours[next++ % colours.length];
    return {
      label: p.label, stroke: colour, paths: () => null,
      points: { show: true, size: p.reference ? 16 : 10, fill: colour, stroke: colour },
    };
  });
  container.replaceChildren();
  const width = Math.max(240, Math.min(container.clientWidth || 600, 720));
  const plot = new uPlot({
    width,
    height: 240,
    legend: { live: false },
    cursor: { show: false },
    scales: { x: { time: false, range: (u, min, max) => [0, max * 1.15 || 1] }, y: { range: (u, min, max) => [0, Math.max(max * 1.15, 1)] } },
    axes: [{ label: 'time on this device (s)' }, { label: 'gap to the exact reference (AG, points)' }],
    series: [{ label: 'time (s)' }, ...styled],
  }, [xs, ...series], container);
  container.dataset.axisTitles = plot.axes.map((a) => a.label ?? '').join('|');
  container.dataset.series = points.map((p) => p.label).join('|');
  container.dataset.reference = points.find((p) => p.reference)?.label ?? '';
}

/** A bar (a fraction in [0, 1]) with a text alternative. */
export function bar(fraction, { before = false, reference = false, label = '' } = {}) {
  const outer = document.createElement('div');
  outer.className = before ? 'bar before' : reference ? 'bar reference' : 'bar';
  outer.setAttribute('role', 'img');
  outer.setAttribute('aria-label', label || `${(100 * fraction).toFixed(0)} %`);
  const inner = document.createElement('span');
  inner.style.width = `${Math.max(0, Math.min(1, fraction)) * 100}%`;
  outer.append(inner);
  return outer;
}
