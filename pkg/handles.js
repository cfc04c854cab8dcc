// Where evaluation contexts live between calls: engine slots (handles), the prepared
// `Context` a caller keeps, and the cache that gives reused plain objects a slot.

/** How many recently seen plain objects are remembered to spot a second use. */
const RECENT = 8;

/**
 * Slots of reused plain-object contexts. An object seen for the first time is read
 * into the scratch slot (most contexts are built per request and used for a few
 * flags in a row); when it comes back after another object was seen, while still
 * among the last few, it gets a slot of its own. Bounded: the oldest slot is
 * released when a new one is needed.
 */
export class ContextCache {
  #byObject = new WeakMap();
  #recent = new Array(RECENT);
  #nextRecent = 0;
  #ring;
  #next = 0;
  #create;
  #release;

  /** Up to `size` handles, made by `create()` and given back with `release(handle)`. */
  constructor(size, create, release) {
    this.#ring = new Array(size);
    this.#create = create;
    this.#release = release;
  }

  /** The kept handle of `ctx`, or undefined when it has not been seen lately. */
  get(ctx) {
    let handle = this.#byObject.get(ctx);
    if (handle !== undefined) return handle;
    if (!this.#recent.includes(ctx)) {
      this.#recent[this.#nextRecent] = ctx;
      this.#nextRecent = (this.#nextRecent + 1) % RECENT;
      return undefined;
    }
    handle = this.#create();
    const evicted = this.#ring[this.#next];
    if (evicted !== undefined) {
      this.#byObject.delete(evicted.ctx);
      this.#release(evicted.handle);
    }
    this.#ring[this.#next] = { ctx, handle };
    this.#next = (this.#next + 1) % this.#ring.length;
    this.#byObject.set(ctx, handle);
    return handle;
  }
}

/** A slot of the wasm engine, and which snapshot (generation) it was filled for. */
export class Handle {
  constructor(slot) {
    this.slot = slot;
    this.generation = -1;
  }
}

/**
 * A context prepared for many evaluations. Create it with `engine.context(ctx)`;
 * don't mutate the object you built it from (it is read again only when a new
 * snapshot needs other attributes). It is its own engine handle (slot -1 when the
 * object was not usable, or once freed): one object to reach per evaluation.
 */
export class Context extends Handle {
  #source;
  #engine;
  constructor(engine, source, slot) {
    super(slot);
    this.#engine = engine;
    this.#source = source;
  }
  /** @internal */
  static source(ctx) {
    return ctx.#source;
  }
  /** Whether the context is usable (a plain object). */
  get valid() {
    return this.slot >= 0;
  }
  /** Releases the engine memory now instead of at garbage collection. */
  free() {
    if (this.slot >= 0) this.#engine.release(this);
    this.slot = -1;
  }
}

