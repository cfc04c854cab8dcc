// Timing helpers: time-boxed loops, rounds interleaved across systems (the machine
// is shared and noisy, so each system's figure is the median of rounds taken in
// turn), and number formatting.

/** A value the measured functions feed, so their results are never dead code. */
export let sink = 0;
export function consume(value) {
  sink = (sink + (value === true || (typeof value === "string" && value.length > 0) ? 1 : 0)) | 0;
}

/** Calls `fn(i)` with i = 0, 1, 2... for about `ms`, `batch` calls between clock reads; returns calls per second. */
export function perSecond(fn, ms, batch = 64) {
  let calls = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(ms * 1e6));
  let now = start;
  while (now < deadline) {
    for (let k = 0; k < batch; k++) consume(fn(calls + k));
    calls += batch;
    now = process.hrtime.bigint();
  }
  return calls / (Number(now - start) / 1e9);
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * Rates of several contenders, `rounds` rounds of `ms` each taken in turn after a
 * warm-up of each; returns the median per contender (in the order given).
 */
export function compareRates(contenders, { ms = 300, rounds = 3, warmupMs = 200, batch = 64 } = {}) {
  for (const c of contenders) perSecond(c.fn, warmupMs, batch);
  const rates = contenders.map(() => []);
  for (let r = 0; r < rounds; r++) contenders.forEach((c, i) => rates[i].push(perSecond(c.fn, ms, batch)));
  return rates.map(median);
}

/** Median of `runs` timings (ms) that `once()` measures itself; the runs are taken in turn across `contenders`. */
export async function compareTimes(contenders, runs) {
  const times = contenders.map(() => []);
  for (let r = 0; r < runs; r++) {
    for (let i = 0; i < contenders.length; i++) times[i].push(await contenders[i].once());
  }
  return times.map(median);
}

const trim = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

/** 88.1 k, 0.62 M. */
export function rate(x) {
  return x >= 1e6 ? `${trim(x / 1e6)} M` : x >= 1e3 ? `${trim(x / 1e3)} k` : trim(x);
}

/** Milliseconds as ms or µs. */
export function duration(ms) {
  return ms >= 1 ? `${trim(ms)} ms` : `${trim(ms * 1000)} µs`;
}

export function kilobytes(bytes) {
  return `${trim(bytes / 1024)} KB`;
}

/** KB below a megabyte, MB above. */
export function size(bytes) {
  return bytes >= 1024 * 1024 ? `${trim(bytes / 1024 / 1024)} MB` : kilobytes(bytes);
}

/** "×1.23" for a ratio. */
export function times(x) {
  return `×${x >= 10 ? x.toFixed(0) : x.toFixed(2)}`;
}
