/**
 * The exhaustive explorer: every distinct interleaving of a small race scenario's kernel steps,
 * breadth first, by re-execution.
 *
 * Search. Generators cannot be cloned, so a state is reached by replaying its path — the labels
 * of the actions that led to it — on a fresh `World` (stateless search by re-execution, as in
 * VeriSoft or CHESS). Breadth-first order makes the first use-after-free found a shortest one.
 * Each state is hashed (SHA-1 of `World.digest()`) and expanded once.
 *
 * Reduction: sleep sets (Godefroid 1996) with state matching. After exploring action t from s,
 * t is put to sleep for the later siblings u whose step does not interfere with t's: t then need
 * not be tried after u, because u·t leads where t·u did. Interference is decided from footprints:
 * what a step wrote is observed (the keys whose digest value it changed) and what it may read is
 * a declared superset per kind of action (`World.readSet`); two steps are independent when
 * neither writes what the other reads or writes. A state reached again with a sleep set that
 * lacks some action asleep at its first visit is re-expanded for those actions (Godefroid's
 * rule), so no state is lost: sleep sets save transitions, never states, which the tests check by
 * comparing the state count with and without reduction.
 *
 * Budget: the search stops when `maxStates` distinct states have been seen and reports
 * `complete: false` with what it explored (a result, not an exception: a partial search is a
 * normal outcome for a scenario too large, and a use-after-free found before the budget still
 * settles the question).
 */
import { createHash } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { BackendName, ProfileName } from "../config/profiles.js";
import type { BadReadKind } from "../mm/oracle.js";
import type { ScenarioName } from "../experiments/scenarios.js";
import { resolveExploreOptions, type ExploreOptions, type ExploreSpec } from "./options.js";
import { World, type Action } from "./world.js";

/** What a step touched: observed writes, declared reads (keys or prefixes, "*" for all). */
export interface Footprint {
  readonly writes: ReadonlySet<string>;
  readonly reads: readonly string[];
}

function readsKey(reads: readonly string[], key: string): boolean {
  for (const r of reads) {
    if (r === "*" || r === key) return true;
    if ((r.endsWith(":") || r.endsWith("/")) && key.startsWith(r)) return true;
  }
  return false;
}

/** Neither step writes what the other reads or writes. */
export function independent(a: Footprint, b: Footprint): boolean {
  for (const k of a.writes) if (b.writes.has(k) || readsKey(b.reads, k)) return false;
  for (const k of b.writes) if (readsKey(a.reads, k)) return false;
  return true;
}

/** Keys whose value differs (added and removed components included). */
export function changedKeys(before: Map<string, string>, after: Map<string, string>): Set<string> {
  const out = new Set<string>();
  for (const [k, v] of after) if (before.get(k) !== v) out.add(k);
  for (const k of before.keys()) if (!after.has(k)) out.add(k);
  return out;
}

/** SHA-1 of the digest, components in key order (the order processes were created in must not
 * matter): 160 bits, so two different states sharing a hash is not a concern at these sizes. The
 * stall budget is left out: a state with more stalls left subsumes the same state with fewer
 * (it can do everything the other can, and stall again), see `search`. */
export function hashDigest(d: Map<string, string>): string {
  const h = createHash("sha1");
  for (const k of [...d.keys()].sort()) if (k !== "budget") h.update(`${k}=${d.get(k)!}\n`);
  return h.digest("base64");
}

export interface CounterexampleStep {
  /** 1-based. */
  readonly step: number;
  readonly action: string;
  /** CPU lane (−1: the machine/RCU lane). */
  readonly cpu: number;
  /** What the step changed, one "component: before → after" line per changed field. */
  readonly effects: readonly string[];
}

export interface UafSummary {
  readonly cpu: number;
  readonly walker: string;
  readonly addr: string;
  readonly level: string;
  readonly pfn: number;
  readonly kind: BadReadKind;
  readonly frameState: string;
}

/** "__gup_fast on cpu1 read the pte table in frame 3 (freed) at 0x…": a counterexample's read. */
export function uafSentence(u: UafSummary): string {
  return `${u.walker} on cpu${u.cpu} read the ${u.level} table in frame ${u.pfn} (${u.kind}) at ${u.addr}`;
}

/** Enough to replay a counterexample with `replayCounterexample` (fast-check style). */
export interface ExploreReplay {
  readonly profile: ProfileName;
  readonly backend: BackendName;
  readonly scenario: ScenarioName;
  readonly cpus: number;
  readonly pages: number;
  readonly stalls: number;
  /** The page walkers were part of the world (explore's `hardware`); absent: false. */
  readonly hardware?: boolean;
  /** The tableInvalidate counterfactual, if one was asked for. */
  readonly tableInvalidate?: boolean;
  readonly path: readonly string[];
}

export interface Counterexample {
  readonly length: number;
  /** The breadth-first search that found this shortest path. */
  readonly shortestSearch: { readonly states: number; readonly transitions: number };
  readonly steps: readonly CounterexampleStep[];
  /** The oracle's first report at the last step. */
  readonly uaf: UafSummary;
  readonly replay: ExploreReplay;
}

export interface ExploreResult {
  readonly profile: ProfileName;
  readonly backend: BackendName;
  readonly scenario: ScenarioName;
  readonly cpus: number;
  readonly pages: number;
  readonly stalls: number;
  readonly por: boolean;
  /** The CPUs' page walkers were explored too. */
  readonly hardware: boolean;
  /** Distinct states visited (the initial one included). */
  readonly states: number;
  /** Transitions executed. */
  readonly transitions: number;
  /** Transitions not executed because they were asleep. */
  readonly sleepPruned: number;
  /** Transitions that led to an already visited state. */
  readonly revisits: number;
  /** Worlds built and replayed from the initial state (the first child of a state continues on
   * the live world). */
  readonly replays: number;
  /** Deepest path expanded. */
  readonly maxDepth: number;
  /** Transitions found ending in a use-after-free read (1 when the search stops at the first). */
  readonly uafTransitions: number;
  /** States with nothing enabled while some process had not finished (0 in a sound model). */
  readonly deadlocks: number;
  /** null only when the budget ran out before either answer was established. */
  readonly uafReachable: boolean | null;
  /** The answer is final: every reachable state was visited, or a use-after-free was found. */
  readonly complete: boolean;
  /** "uaf-found": a use-after-free is reachable (with --all: and every state was visited);
   * "exhausted": every state visited, none; "max-states": the budget ran out first. */
  readonly stopReason: "exhausted" | "uaf-found" | "max-states";
  readonly maxStates: number;
  readonly counterexample: Counterexample | null;
  readonly elapsedMs: number;
}

type Sleep = Map<string, Footprint>;

interface Seen {
  sleep: Sleep;
  /** Stalls left when it was reached (the most of any visit). */
  budget: number;
  /** BFS: expanded already (a re-visit then queues only what the first one skipped). */
  expanded: boolean;
  /** BFS: bumped when a visit with more stalls left takes the state over; older queue entries
   * for it are then obsolete. */
  version: number;
}

/** Replays `path` on a fresh world. */
export function replay(spec: ExploreSpec, path: readonly string[], trace = false): World {
  const w = new World(spec, { trace });
  for (const label of path) w.execute(w.action(label));
  return w;
}

/**
 * Replays a counterexample from its literal (`Counterexample.replay`, fast-check style): the
 * returned world has just made the use-after-free read (`world.uaf > 0`, the report in
 * `world.sys.k.oracle.reports`). Throws if the path no longer replays.
 */
export function replayCounterexample(r: ExploreReplay): World {
  return replay(replaySpec(r), r.path);
}

/** The checked options a replay literal stands for. */
export function replaySpec(r: ExploreReplay): ExploreSpec {
  return resolveExploreOptions({
    profile: r.profile,
    backend: r.backend,
    scenario: r.scenario,
    cpus: r.cpus,
    pages: r.pages,
    stalls: r.stalls,
    hardware: r.hardware ?? false,
    ...(r.tableInvalidate === undefined ? {} : { tableInvalidate: r.tableInvalidate }),
  });
}

/** Thrown inside a search to stop it (use-after-free found, budget exhausted); caught by
 * `search`, never seen outside. */
class Stop extends Error {
  constructor(readonly reason: "uaf-found" | "max-states") {
    super(reason);
  }
}

/** What one transition led to, and the sleep set its target is to be explored with. */
type Outcome =
  | { readonly kind: "new"; readonly sleep: Sleep }
  | { readonly kind: "upgrade"; readonly sleep: Sleep }
  | { readonly kind: "missing"; readonly sleep: Sleep; readonly only: ReadonlySet<string> }
  | { readonly kind: "covered" };

/**
 * State-caching search with sleep sets, depth first (`dfs`, for the verdict: fewer re-executions,
 * the first child of a state continues on the live world) or breadth first (`bfs`, for the
 * shortest counterexample).
 */
class Search {
  readonly spec: ExploreSpec;
  readonly seen = new Map<string, Seen>();
  transitions = 0;
  sleepPruned = 0;
  revisits = 0;
  replays = 0;
  maxDepth = 0;
  deadlocks = 0;
  /** Transitions that ended in a use-after-free read. */
  uafTransitions = 0;
  found: readonly string[] | null = null;
  private readonly hooks: SearchHooks;

  constructor(spec: ExploreSpec, hooks: SearchHooks = {}) {
    this.spec = spec;
    this.hooks = hooks;
  }

  world(path: readonly string[]): World {
    this.replays++;
    return replay(this.spec, path);
  }

  /** The actions to take from a state: not asleep, and (re-visit) only the missing ones. */
  todo(world: World, sleep: Sleep, only: ReadonlySet<string> | null): Action[] | null {
    const all = world.actions();
    if (all.length === 0) {
      if (world.sys.sim.trackedProcesses().some((p) => !p.finished)) this.deadlocks++;
      return null;
    }
    const eligible = only === null ? all : all.filter((a) => only.has(a.label));
    const todo = this.spec.por ? eligible.filter((a) => !sleep.has(a.label)) : eligible;
    this.sleepPruned += eligible.length - todo.length;
    return todo;
  }

  /**
   * Executes `a` on `world` (at the state whose digest is `before`, explored with sleep set
   * `done` so far) and files the target state. Returns the target's hash and digest with what to
   * do about it; throws Stop on a use-after-free or at the state budget.
   */
  step(
    world: World,
    a: Action,
    path: readonly string[],
    before: Map<string, string>,
    done: Sleep,
  ): { hash: string; after: Map<string, string>; fp: Footprint; outcome: Outcome } {
    const reads = world.readSet(a);
    world.execute(a);
    this.transitions++;
    const uaf = world.uaf > 0;
    if (uaf) {
      this.uafTransitions++;
      this.found ??= path;
      if (this.spec.stopAtFirstUaf) throw new Stop("uaf-found");
    }
    const after = world.digest();
    const fp: Footprint = { writes: changedKeys(before, after), reads };
    const childSleep: Sleep = new Map();
    if (this.spec.por) for (const [l, f] of done) if (independent(f, fp)) childSleep.set(l, f);
    const hash = hashDigest(after);
    const budget = world.stallsLeft;
    const old = this.seen.get(hash);
    if (old === undefined) {
      if (this.seen.size >= this.spec.maxStates) throw new Stop("max-states");
      this.seen.set(hash, { sleep: childSleep, budget, expanded: false, version: 0 });
      this.hooks.onState?.(hash, path);
      // a state after a use-after-free is where the search ends (--all goes on elsewhere)
      if (uaf) return { hash, after, fp, outcome: { kind: "covered" } };
      return { hash, after, fp, outcome: { kind: "new", sleep: childSleep } };
    }
    this.revisits++;
    this.hooks.onRevisit?.(hash, path);
    if (uaf) return { hash, after, fp, outcome: { kind: "covered" } };
    if (old.budget < budget) {
      // reached again with more stalls left: this visit subsumes the first; explore it afresh
      old.budget = budget;
      old.sleep = childSleep;
      old.expanded = false;
      old.version++;
      return { hash, after, fp, outcome: { kind: "upgrade", sleep: childSleep } };
    }
    // Godefroid: what was asleep at the first visit but is awake now must still be explored
    const missing = new Set<string>();
    for (const l of old.sleep.keys()) if (!childSleep.has(l)) missing.add(l);
    if (missing.size === 0) return { hash, after, fp, outcome: { kind: "covered" } };
    const meet: Sleep = new Map();
    for (const [l, f] of old.sleep) if (childSleep.has(l)) meet.set(l, f);
    old.sleep = meet;
    return { hash, after, fp, outcome: { kind: "missing", sleep: meet, only: missing } };
  }

  private root(): { world: World; hash: string; digest: Map<string, string> } {
    const world = this.world([]);
    const digest = world.digest();
    const hash = hashDigest(digest);
    this.seen.set(hash, {
      sleep: new Map(),
      budget: world.stallsLeft,
      expanded: false,
      version: 0,
    });
    this.hooks.onState?.(hash, []);
    return { world, hash, digest };
  }

  /** Depth first from the initial state. */
  dfs(): void {
    const r = this.root();
    this.visit(r.world, [], r.digest, new Map(), null);
  }

  private visit(
    world: World,
    path: readonly string[],
    before: Map<string, string>,
    sleep: Sleep,
    only: ReadonlySet<string> | null,
  ): void {
    this.maxDepth = Math.max(this.maxDepth, path.length);
    const todo = this.todo(world, sleep, only);
    if (todo === null) return;
    const done: Sleep = new Map(this.spec.por ? sleep : []);
    for (let i = 0; i < todo.length; i++) {
      const w = i === 0 ? world : this.world(path);
      const a = i === 0 ? todo[0]! : w.action(todo[i]!.label);
      const next = [...path, a.label];
      const { after, fp, outcome } = this.step(w, a, next, before, done);
      if (outcome.kind !== "covered")
        this.visit(w, next, after, outcome.sleep, outcome.kind === "missing" ? outcome.only : null);
      if (this.spec.por) done.set(a.label, fp);
    }
  }

  /** Breadth first from the initial state: the first use-after-free found is a shortest one. */
  bfs(): void {
    interface Node {
      readonly path: readonly string[];
      readonly hash: string;
      readonly only: ReadonlySet<string> | null;
      readonly sleep: Sleep | null;
      readonly version: number;
    }
    const r = this.root();
    const queue: Node[] = [{ path: [], hash: r.hash, only: null, sleep: null, version: 0 }];
    let live: World | null = r.world;
    for (let head = 0; head < queue.length; head++) {
      const node = queue[head]!;
      const entry = this.seen.get(node.hash)!;
      if (node.version !== entry.version) continue;
      const sleep = node.sleep ?? entry.sleep;
      if (node.only === null) entry.expanded = true;
      this.maxDepth = Math.max(this.maxDepth, node.path.length);
      const world0 = live ?? this.world(node.path);
      live = null;
      const todo = this.todo(world0, sleep, node.only);
      if (todo === null) continue;
      const before = world0.digest();
      const done: Sleep = new Map(this.spec.por ? sleep : []);
      for (let i = 0; i < todo.length; i++) {
        const w = i === 0 ? world0 : this.world(node.path);
        const a = i === 0 ? todo[0]! : w.action(todo[i]!.label);
        const path = [...node.path, a.label];
        const { hash, fp, outcome } = this.step(w, a, path, before, done);
        const version = this.seen.get(hash)!.version;
        if (outcome.kind === "new" || outcome.kind === "upgrade")
          queue.push({ path, hash, only: null, sleep: null, version });
        else if (outcome.kind === "missing" && this.seen.get(hash)!.expanded)
          queue.push({ path, hash, only: outcome.only, sleep: outcome.sleep, version });
        if (this.spec.por) done.set(a.label, fp);
      }
    }
  }
}

/** Explores every interleaving of one cell's scenario. */
export function explore(opts: ExploreOptions): ExploreResult {
  return search(resolveExploreOptions(opts));
}

/** Observers of a search (tests: state sets with and without reduction; merged states). */
export interface SearchHooks {
  /** Every state the verdict search files, with the path that reached it first. */
  readonly onState?: (hash: string, path: readonly string[]) => void;
  /** Every transition into a state already filed, with the path that just reached it. */
  readonly onRevisit?: (hash: string, path: readonly string[]) => void;
}

/**
 * The search behind `explore`: depth first for the verdict; if a use-after-free turns up, breadth
 * first again (stopping at the first one) for a shortest counterexample.
 */
export function search(spec: ExploreSpec, hooks: SearchHooks = {}): ExploreResult {
  const t0 = performance.now();
  const s = new Search(spec, hooks);
  let stopReason: ExploreResult["stopReason"] = "exhausted";
  try {
    s.dfs();
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    stopReason = e.reason;
  }
  if (stopReason === "exhausted" && s.found !== null) stopReason = "uaf-found";
  let counterexample: Counterexample | null = null;
  if (s.found !== null) {
    const b = new Search({ ...spec, maxStates: Number.MAX_SAFE_INTEGER, stopAtFirstUaf: true });
    try {
      b.bfs();
    } catch (e) {
      if (!(e instanceof Stop)) throw e;
    }
    counterexample = describeCounterexample(spec, b.found ?? s.found, {
      states: b.seen.size,
      transitions: b.transitions,
    });
  }
  return {
    profile: spec.profile,
    backend: spec.backend,
    scenario: spec.scenario,
    cpus: spec.cpus,
    pages: spec.pages,
    stalls: spec.stalls,
    hardware: spec.hardware,
    por: spec.por,
    // the state a stopping use-after-free leads to is not filed, but was reached
    states: s.seen.size + (s.found !== null && spec.stopAtFirstUaf ? 1 : 0),
    uafTransitions: s.uafTransitions,
    transitions: s.transitions,
    sleepPruned: s.sleepPruned,
    revisits: s.revisits,
    replays: s.replays,
    maxDepth: s.maxDepth,
    deadlocks: s.deadlocks,
    uafReachable: s.found !== null ? true : stopReason === "max-states" ? null : false,
    complete: stopReason !== "max-states",
    stopReason,
    maxStates: spec.maxStates,
    counterexample,
    elapsedMs: Math.round(performance.now() - t0),
  };
}

/** Splits a digest value into "name=value" fields (or one anonymous field). */
function fields(v: string | undefined): Map<string, string> {
  const m = new Map<string, string>();
  if (v === undefined) return m;
  for (const tok of v.split(" ")) {
    const i = tok.indexOf("=");
    if (i > 0) m.set(tok.slice(0, i), tok.slice(i + 1));
    else m.set(`#${m.size}`, tok);
  }
  return m;
}

/** "cpu:1 IF 0 → 1"-style lines for what changed between two digests. */
function describeChanges(
  before: Map<string, string>,
  after: Map<string, string>,
  skip: string,
): string[] {
  const out: string[] = [];
  for (const key of changedKeys(before, after)) {
    // a process's position changes at each of its steps: the action already says so
    if (key === skip || key.startsWith("pc:")) continue;
    const b = before.get(key);
    const a = after.get(key);
    if (b === undefined) {
      out.push(`${key}: new (${a ?? ""})`);
      continue;
    }
    if (a === undefined) {
      out.push(`${key}: gone`);
      continue;
    }
    if (key.startsWith("frame:")) {
      out.push(`${key}: ${b} → ${a}`);
      continue;
    }
    const fb = fields(b);
    const fa = fields(a);
    const parts: string[] = [];
    for (const [f, va] of fa) {
      const vb = fb.get(f);
      if (vb !== va)
        parts.push(f.startsWith("#") ? `${vb ?? "∅"} → ${va}` : `${f} ${vb ?? "∅"} → ${va}`);
    }
    out.push(`${key}: ${parts.join(", ")}`);
  }
  return out;
}

/** Replays a found path to describe each step and the use-after-free it ends in. */
function describeCounterexample(
  spec: ExploreSpec,
  path: readonly string[],
  shortestSearch: Counterexample["shortestSearch"],
): Counterexample {
  const w = new World(spec);
  const steps: CounterexampleStep[] = [];
  let before = w.digest();
  for (const label of path) {
    const a = w.action(label);
    w.execute(a);
    const after = w.digest();
    const self = a.event?.owner ? `proc:${a.event.owner.name}` : "";
    steps.push({
      step: w.stepNo,
      action: label,
      cpu: a.cpu,
      effects: describeChanges(before, after, self),
    });
    before = after;
  }
  const r = w.sys.k.oracle.reports[0];
  if (r === undefined)
    throw new Error(`explore: replay of ${path.join(" ")} saw no use-after-free`);
  return {
    length: path.length,
    shortestSearch,
    steps,
    uaf: {
      cpu: r.cpu,
      walker: r.walker,
      addr: `0x${r.addr.toString(16)}`,
      level: r.level,
      pfn: r.pfn,
      kind: r.kind,
      frameState: r.frameState,
    },
    replay: {
      profile: spec.profile,
      backend: spec.backend,
      scenario: spec.scenario,
      cpus: spec.cpus,
      pages: spec.pages,
      stalls: spec.stalls,
      ...(spec.hardware ? { hardware: true } : {}),
      ...(spec.tableInvalidate === undefined ? {} : { tableInvalidate: spec.tableInvalidate }),
      path: [...path],
    },
  };
}
