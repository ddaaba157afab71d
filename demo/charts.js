// The demo's charts: uPlot line charts that grow one epoch at a time, and small HTML bars.
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

/** A bar (a fraction in [0, 1]) with a text alternative. */
export function bar(fraction, { before = false, label = '' } = {}) {
  const outer = document.createElement('div');
  outer.className = before ? 'bar before' : 'bar';
  outer.setAttribute('role', 'img');
  outer.setAttribute('aria-label', label || `${(100 * fraction).toFixed(0)} %`);
  const inner = document.createElement('span');
  inner.style.width = `${Math.max(0, Math.min(1, fraction)) * 100}%`;
  outer.append(inner);
  return outer;
}
