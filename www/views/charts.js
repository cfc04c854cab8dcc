// Charts with uPlot: time series, threshold lines, and marked moments.
import uPlot from "../vendor/uPlot.esm.js";
import { placeLabels } from "./chart-labels.js";

// Red is kept for limits and rollbacks.
const COLORS = ["#0969da", "#1a7f37", "#8250df", "#bc4c00", "#1b7c83", "#6e7781"];

/**
 * Draws `series` ({label, values}) over `times` (epoch seconds) into `el`;
 * `threshold` draws a dashed limit, `marks` ({at, label}) vertical lines.
 */
export function seriesChart(el, { times, series, yLabel, threshold, marks = [], emptyText = "No data yet." }) {
  if (!series.some((s) => s.values.some((v) => v !== null && v !== undefined))) {
    const p = document.createElement("p");
    p.textContent = emptyText;
    const box = document.createElement("div");
    box.className = "empty";
    box.append(p);
    el.replaceChildren(box);
    return null;
  }
  const width = Math.max(320, el.clientWidth || 720);
  const data = [times, ...series.map((s) => s.values)];
  const opts = {
    width,
    height: 240,
    scales: { x: { time: true } },
    axes: [{}, { label: yLabel }],
    series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: COLORS[i % COLORS.length], width: 2 }))],
    hooks: {
      draw: [
        (u) => {
          const ctx = u.ctx;
          const px = uPlot.pxRatio;
          const line = 14 * px;
          ctx.save();
          ctx.font = `${12 * px}px system-ui, sans-serif`;
          if (threshold !== undefined) {
            const y = u.valToPos(threshold.value, "y", true);
            ctx.strokeStyle = "#d1242f";
            ctx.setLineDash([6, 4]);
            ctx.beginPath();
            ctx.moveTo(u.bbox.left, y);
            ctx.lineTo(u.bbox.left + u.bbox.width, y);
            ctx.stroke();
            // At the right end, inside the plot: clear of the y axis's tick labels on the left.
            ctx.fillStyle = "#d1242f";
            ctx.textAlign = "right";
            ctx.fillText(threshold.label, u.bbox.left + u.bbox.width - 4 * px, y > u.bbox.top + line ? y - 4 * px : y + line);
            ctx.textAlign = "left";
          }
          // Marks close in time (a stage, then its rollback) take the next row down rather than overlap.
          const sorted = [...marks].sort((a, b) => a.at - b.at).map((m) => ({ ...m, x: u.valToPos(m.at, "x", true), width: ctx.measureText(m.label).width }));
          const places = placeLabels(sorted, { right: u.bbox.left + u.bbox.width, pad: 4 * px, gap: 6 * px });
          sorted.forEach((m, i) => {
            ctx.strokeStyle = "#9a6700";
            ctx.setLineDash([2, 2]);
            ctx.beginPath();
            ctx.moveTo(m.x, u.bbox.top);
            ctx.lineTo(m.x, u.bbox.top + u.bbox.height);
            ctx.stroke();
            ctx.fillStyle = "#9a6700";
            ctx.fillText(m.label, places[i].left, u.bbox.top + line * (places[i].row + 1));
          });
          ctx.restore();
        },
      ],
    },
  };
  el.replaceChildren();
  el.setAttribute("role", "img");
  el.setAttribute("aria-label", `${yLabel} over time: ${series.map((s) => s.label).join(", ")}`);
  return new uPlot(opts, data, el);
}
