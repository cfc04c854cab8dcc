// Where a chart's mark labels go: each beside its line (left of it when it would pass
// the plot's right edge), on the first row where it does not overlap an earlier label.
// Pure, for tests; `gap` is the space kept between labels on one row.

/** `marks`: `[{x, width}]` sorted by x; returns `[{left, row}]` in the same order. */
export function placeLabels(marks, { right, pad = 4, gap = 6 }) {
  const rows = [];
  return marks.map(({ x, width }) => {
    const left = x + pad + width <= right ? x + pad : x - pad - width;
    let row = rows.findIndex((end) => end < left);
    if (row < 0) row = rows.push(0) - 1;
    rows[row] = left + width + gap;
    return { left, row };
  });
}
