// The worker's OFREP token bucket: the rate and burst of Rust's `ofrep::RateLimiter`,
// and bounded however many keys callers make up.
import { test } from "node:test";
import assert from "node:assert/strict";
import { rateLimiter } from "../worker.js";

const MAX_RATE_KEYS = rateLimiter.MAX_KEYS;
assert.equal(MAX_RATE_KEYS, 10_000, "the bound Rust's limiter has");

test("the bucket refills at the configured rate", () => {
  const take = rateLimiter(2, 3);
  for (let i = 0; i < 3; i++) assert.equal(take("k", 0), 0);
  assert.equal(take("k", 0), 1, "empty: wait a second");
  assert.equal(take("other", 0), 0, "keys have their own buckets");
  assert.equal(take("k", 500), 0, "half a second brings one token at 2/s");
  assert.equal(take("k", 500), 1);
});

test("idle keys are forgotten past the bound, a busy one is kept", () => {
  const take = rateLimiter(1, 2);
  take("busy", 0);
  take("busy", 0);
  for (let i = 0; i < MAX_RATE_KEYS - 1; i++) take(`idle-${i}`, 0);
  assert.equal(take("new", 1000), 0, "a new key, a second later");
  assert.equal(take("busy", 1000), 0, "one token came back");
  assert.equal(take("busy", 1000), 1, "and the busy key is still counted");
  for (let i = 0; i < 3 * MAX_RATE_KEYS; i++) take(`flood-${i}`, 2000);
  // Bounded: a flood of made-up keys leaves the limiter working.
  assert.equal(take("fresh", 2000), 0);
});
