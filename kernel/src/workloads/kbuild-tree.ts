/**
 * kbuild's recursive make: one sub-make per directory, all sharing make's jobserver.
 *
 * The top-level Makefile (v4.13) runs `$(MAKE) -f scripts/Makefile.build obj=DIR` for each of
 * vmlinux-dirs; each sub-make reads auto.conf, Kbuild.include, the directory's Makefile and
 * Makefile.lib (serially, before it can start anything), then builds `__build`: the directory's
 * obj-y, its subdirectories' sub-makes (`$(subdir-ym)`), and, once all of them are done,
 * `$(obj)/built-in.o` with `ld -r` (`$(builtin-target): $(obj-y)`, and every subdirectory's
 * built-in.o depends on all of `$(subdir-ym)`). The top make links vmlinux only after every
 * directory (`$(sort $(vmlinux-deps)): $(vmlinux-dirs)`).
 *
 * GNU make's jobserver (make manual, "Job Slots" and "POSIX Jobserver"): `-j N` puts N − 1 tokens
 * in a pipe; every make has one implicit slot of its own (a sub-make's is the slot its parent ran
 * it in) and reads a token from the pipe for each further job, writing it back when it reaps that
 * job. Makes blocked in read() on the pipe are all woken by a write; the first to run takes the
 * token (which one is timing, here the scheduler's).
 *
 * A sub-make starts its own objects before its subdirectories (v4.13 starts all of them where
 * the first subdirectory stands in the directory's obj-y; those positions are not in the tree).
 * An experiment, not the default: docs/model.md, "Run-to-run variance", point 9 (the tree, the
 * measured costs, and what this recursion does to the spread of builds).
 */
import type { Kernel } from "../mm/kernel.js";
import { SimEvent } from "../sim/event.js";
import type { Kfn } from "../sim/process.js";
import type { Task } from "../sched/scheduler.js";
import { processLife, type BuildParams } from "./kernbench.js";

/** One directory: its name, the objects its own sub-make compiles, its subdirectories (in the
 * order make reaches them). */
export type KbuildDirSpec = readonly [string, number, readonly KbuildDirSpec[]];

export interface KbuildParams {
  /** vmlinux-dirs, each with its subtree. */
  readonly tree: readonly KbuildDirSpec[];
  /** A sub-make's own work before its first job (reading the Makefiles), ns of user time. */
  readonly subMakeNs: number;
  /** make's work per object it starts (rule expansion, prerequisite stats, fork), ns. */
  readonly perObjectMakeNs: number;
  /** `ld -r` of a directory's built-in.o: fixed and per object below it, ns of user time. */
  readonly ldBaseNs: number;
  readonly ldPerObjectNs: number;
}

/** A directory with the model's objects dealt out to it. */
interface Dir {
  readonly name: string;
  /** Indices of the objects its sub-make compiles (into the build's cost table). */
  readonly objects: readonly number[];
  readonly subdirs: readonly Dir[];
  /** Objects in its subtree (what its built-in.o links). */
  readonly below: number;
}

/** Objects per directory of the tree, scaled to `total` by largest remainder (in tree order). */
export function dealObjects(tree: readonly KbuildDirSpec[], total: number): Dir[] {
  const flat: KbuildDirSpec[] = [];
  const walk = (d: KbuildDirSpec): void => {
    flat.push(d);
    d[2].forEach(walk);
  };
  tree.forEach(walk);
  const sum = flat.reduce((s, d) => s + d[1], 0);
  const exact = flat.map((d) => (sum === 0 ? 0 : (d[1] * total) / sum));
  const counts = exact.map(Math.floor);
  let left = total - counts.reduce((s, c) => s + c, 0);
  const order = exact
    .map((e, i) => ({ i, r: e - Math.floor(e) }))
    .sort((a, b) => b.r - a.r || a.i - b.i);
  for (let j = 0; left > 0; j = (j + 1) % order.length, left--) counts[order[j]!.i]!++;
  let next = 0;
  let at = 0;
  const build = (d: KbuildDirSpec): Dir => {
    const n = counts[at++]!;
    const objects = Array.from({ length: n }, () => next++);
    const subdirs = d[2].map(build);
    return { name: d[0], objects, subdirs, below: n + subdirs.reduce((s, c) => s + c.below, 0) };
  };
  return tree.map(build);
}

/** The jobserver's pipe: tokens in it and the makes blocked reading it. */
class Jobserver {
  private readonly readers = new Set<MakeState>();
  constructor(public free: number) {}
  read(me: MakeState): void {
    this.readers.add(me);
  }
  stopReading(me: MakeState): void {
    this.readers.delete(me);
  }
  /** A token written back: every blocked reader wakes and races for it. */
  write(): void {
    this.free++;
    for (const r of this.readers) r.wake();
  }
}

/** One make's wake-ups: its reaped children, and a write to the pipe while it reads it. */
class MakeState {
  readonly reaped: ("implicit" | "pipe")[] = [];
  private ev = new SimEvent<void>("make wait");
  wake(): void {
    if (!this.ev.triggered) this.ev.succeed();
  }
  *wait(m: Task): Kfn<void> {
    yield* m.waitFor(this.ev);
    this.ev = new SimEvent<void>("make wait");
  }
}

/** What the recursion needs of makeBuild. */
export interface KbuildContext {
  readonly k: Kernel;
  readonly b: BuildParams;
  readonly kb: KbuildParams;
  readonly jobs: number;
  readonly spawn: (name: string, body: (t: Task) => Kfn<void>, near: number) => Task;
  /** The job that compiles object i (Kbuild's rule_cc_o_c). */
  readonly objectJob: (i: number) => (t: Task) => Kfn<void>;
  /** The next exec's layout factor. */
  readonly layout: () => number;
}

type Job = { readonly obj: number } | { readonly dir: Dir };

/**
 * The top make's part between its head and vmlinux's link: every directory of the tree under
 * the jobserver of `make -j jobs`.
 */
export function* kbuildDirs(ctx: KbuildContext, top: Task, makeLayout: number): Kfn<void> {
  const js = new Jobserver(ctx.jobs - 1);
  const dirs = dealObjects(ctx.kb.tree, ctx.b.objects);
  yield* makeJobs(
    ctx,
    js,
    top,
    dirs.map((dir) => ({ dir })),
    makeLayout,
  );
}

/** One sub-make: reads its Makefiles, builds its objects and subdirectories, links built-in.o. */
function subMake(ctx: KbuildContext, js: Jobserver, dir: Dir) {
  return (t: Task): Kfn<void> => {
    const layout = ctx.layout();
    return processLife(ctx.k, t, ctx.b, ctx.b.gcc, {
      userNs: ctx.kb.subMakeNs,
      parts: 1,
      layout,
      between: () => subMakeBody(ctx, js, t, dir, layout),
    });
  };
}

function* subMakeBody(
  ctx: KbuildContext,
  js: Jobserver,
  t: Task,
  dir: Dir,
  layout: number,
): Kfn<void> {
  const jobs: Job[] = [
    ...dir.objects.map((obj) => ({ obj })),
    ...dir.subdirs.map((d) => ({ dir: d })),
  ];
  yield* makeJobs(ctx, js, t, jobs, layout);
  // $(obj)/built-in.o: ld -r of everything below, in the slot the sub-make runs in
  const ld = ctx.spawn(
    "ld",
    (l) =>
      processLife(ctx.k, l, ctx.b, ctx.b.gcc, {
        userNs: ctx.kb.ldBaseNs + ctx.kb.ldPerObjectNs * dir.below,
        layout: ctx.layout(),
      }),
    t.here.id,
  );
  yield* t.waitFor(ld.exited);
}

/** make's job loop: start jobs in order while it has a slot (its own, then pipe tokens), reap. */
function* makeJobs(
  ctx: KbuildContext,
  js: Jobserver,
  m: Task,
  jobs: readonly Job[],
  layout: number,
): Kfn<void> {
  const me = new MakeState();
  let next = 0;
  let running = 0;
  let implicitFree = true;
  while (next < jobs.length || running > 0) {
    while (next < jobs.length) {
      let slot: "implicit" | "pipe";
      if (implicitFree) {
        implicitFree = false;
        slot = "implicit";
      } else if (js.free > 0) {
        js.free--;
        slot = "pipe";
      } else break;
      const job = jobs[next++]!;
      let child: Task;
      if ("obj" in job) {
        yield* m.user(ctx.kb.perObjectMakeNs * layout);
        child = ctx.spawn(`sh#${job.obj}`, ctx.objectJob(job.obj), m.here.id);
      } else {
        child = ctx.spawn(`make[${job.dir.name}]`, subMake(ctx, js, job.dir), m.here.id);
      }
      running++;
      child.exited.then(() => {
        me.reaped.push(slot);
        me.wake();
      });
    }
    if (me.reaped.length === 0) {
      const reading = next < jobs.length;
      if (reading) js.read(me);
      yield* me.wait(m);
      js.stopReading(me);
    }
    while (me.reaped.length > 0) {
      const slot = me.reaped.shift()!;
      yield* m.user(20_000 * layout); // reap the child, update the job slots
      running--;
      if (slot === "implicit") implicitFree = true;
      else js.write();
    }
    if (ctx.b.makeJobGapNs > 0 && next < jobs.length) yield* m.sleep(ctx.b.makeJobGapNs);
  }
}
