// A seeded pseudo-random generator (mulberry32) for the generative tests: the same
// seed gives the same flags and contexts on every machine, so a failure reproduces.

/** A generator with helpers; `seed` is a 32-bit integer. */
export function random(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const r = {
    /** A float in [0, 1). */
    next,
    /** An integer in [lo, hi]. */
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    /** One element of `list`. */
    pick: (list) => list[Math.floor(next() * list.length)],
    /** `true` with probability `p`. */
    chance: (p) => next() < p,
    /** `n` distinct elements of `list` (fewer if it is shorter). */
    some: (list, n) => {
      const copy = [...list];
      const out = [];
      while (out.length < n && copy.length) out.push(copy.splice(Math.floor(next() * copy.length), 1)[0]);
      return out;
    },
  };
  return r;
}
