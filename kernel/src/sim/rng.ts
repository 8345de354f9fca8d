/**
 * The simulation's seeded random source: xoroshiro128+ from pure-rand (the generator fast-check
 * itself uses). One `Rng` belongs to one `Simulation`; nothing here is module state. Independent
 * streams for sub-components come from `fork()`, which jumps 2^64 draws ahead, so adding a draw in
 * one component does not shift another component's sequence.
 */
import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import { checkInt, checkNumber } from "./errors.js";

type Generator128 = ReturnType<typeof xoroshiro128plus>;

export class Rng {
  private gen: Generator128;
  readonly seed: number;

  constructor(seed: number, from?: Generator128) {
    checkInt("seed", seed, 0, 2 ** 32 - 1, "Rng");
    this.seed = seed;
    this.gen = from ?? xoroshiro128plus(seed);
  }

  /** Uniform integer in [min, max] (both inclusive). */
  int(min: number, max: number): number {
    return uniformInt(this.gen, min, max);
  }

  /** Uniform float in [0, 1) with 32 bits of precision (enough for jitter and coin flips). */
  float(): number {
    return (this.gen.next() >>> 0) / 0x100000000;
  }

  /** True with probability p. */
  chance(p: number): boolean {
    checkNumber("probability", p, 0, 1, "Rng.chance");
    return p > 0 && this.float() < p;
  }

  /** Exponentially distributed value with the given mean (for arrival processes). */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.float());
  }

  /**
   * Integer duration around `mean` with relative jitter `rel` (uniform in ±rel·mean), never
   * below zero. Models the small spread every measured latency in costs.md shows.
   */
  jitter(mean: number, rel: number): number {
    if (rel <= 0 || mean <= 0) return Math.round(mean);
    const spread = mean * rel;
    return Math.max(0, Math.round(mean - spread + 2 * spread * this.float()));
  }

  /** Picks one element uniformly. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("Rng.pick: empty list");
    return items[this.int(0, items.length - 1)]!;
  }

  /** An independent stream: the child continues from here and this stream jumps 2^64 draws
   * ahead, so the two never overlap and successive forks differ. */
  fork(): Rng {
    const child = new Rng(this.seed, this.gen.clone());
    this.gen.jump();
    return child;
  }
}
