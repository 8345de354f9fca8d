#!/usr/bin/env node
// Instruments a temporary copy of the compiled kernel through untyped hooks (plain JavaScript).
//
// Where ebizzy's threads spend their time in a 32-vCPU Xen PV guest in a PV shim (the
// xen-kernel-build experiment's ebizzy rows; docs/model.md, "Published experiments"):
//
//   node scripts/trace-ebizzy-xen.mjs [shim-ipi|shim-assisted] [otherVcpus] [socket|cpu] [seed]
//        [--recheck]
//
// It copies kernel/dist to a private temporary directory, inserts a few hooks into the copy
// (every insertion must match the build exactly, or the script stops: rebuild and adjust), runs
// runMicro as published.ts does, and samples each thread's state every 2 µs of the 20 ms: user,
// mmap_sem spinning (and what the last writer to take the lock is doing), a Xen type-change
// flush, the thread's own flush through the shim, other kernel work — each with whether L0 has
// the thread's vCPU descheduled. It also counts voluntary sleeps, HLT exits and writers that
// took mmap_sem while it was held. --recheck makes the copy's v4.x down_write re-check the lock
// after its spin (the fix proposed in docs/model.md); the committed model is never changed.
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT } from "./notebooks.mjs";

const args = process.argv.slice(2);
const recheck = args.includes("--recheck");
const [shim = "shim-ipi", other = "32", rq = "socket", seed = "1"] = args.filter(
  (a) => !a.startsWith("--"),
);
const SAMPLE_NS = 2_000;
const DURATION_NS = 20_000_000;

const dir = mkdtempSync(join(tmpdir(), "mmulab-trace-ebizzy-"));
const dist = join(dir, "dist");
cpSync(join(ROOT, "kernel", "dist"), dist, { recursive: true });
symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));

/** @param {string} file @param {string} from @param {string} to */
function patch(file, from, to) {
  const p = join(dist, file);
  const s = readFileSync(p, "utf8");
  if (s.split(from).length !== 2) throw new Error(`trace-ebizzy-xen: no unique match in ${file}`);
  writeFileSync(p, s.replace(from, to));
}
const H = "globalThis.__traceEbizzy";
patch(
  "sched/scheduler.js",
  "constructor(machine, params = {}) {",
  `constructor(machine, params = {}) {\n        ${H}?.onSched(this, machine);`,
);
patch(
  "sched/scheduler.js",
  "this.sched.block(this);\n        yield ev;",
  `this.__blockedOn = ev.name; ${H}?.onBlock(ev.name);\n        this.sched.block(this);\n        yield ev;\n        this.__blockedOn = null;`,
);
patch("hw/host-sched.js", "this.stats.halts++;", `this.stats.halts++; ${H}?.onHalt(this.sim.now);`);
patch("arch/x86/backends.js", "stats.flushes++;\n", "stats.flushes++;\n    cpu.__shimOp = op;\n");
patch(
  "arch/x86/backends.js",
  "x86.xenPv?.domain.flushed(targets);\n    }\n    x86.k.sim.trace.end(span);",
  "x86.xenPv?.domain.flushed(targets);\n    }\n    cpu.__shimOp = null;\n    x86.k.sim.trace.end(span);",
);
const spinW = "yield spin(k.mmapSemSignal, () => !mm.mmapSemWriter && mm.mmapSemReaders === 0);";
patch(
  "mm/mmap.js",
  `${spinW}\n        mm.mmapSemWriter = true;`,
  `const held = mm.mmapSemWriter || mm.mmapSemReaders > 0;\n        if (held) ${H}?.waitBegin(cpu, mm);\n        ` +
    (recheck ? `while (mm.mmapSemWriter || mm.mmapSemReaders > 0) ${spinW}` : spinW) +
    `\n        if (held) ${H}?.waitEnd(cpu);\n        ${H}?.acquired(mm);\n        mm.mmapSemWriter = true;\n        mm.__owner = cpu;`,
);
patch(
  "mm/mmap.js",
  "export function up_write(k, mm) {\n    mm.mmapSemWriter = false;",
  "export function up_write(k, mm) {\n    mm.mmapSemWriter = false;\n    mm.__owner = null;",
);

// the hooked objects are the copy's, reached through untyped properties: typed `any` on purpose
/** @type {{ sleeps: Map<string, number>, halts: number, haltsAfter: number, acquisitions: number, enteredHeld: number, sim: any }} */
const st = {
  sleeps: new Map(),
  halts: 0,
  haltsAfter: 0,
  acquisitions: 0,
  enteredHeld: 0,
  sim: null,
};
const waits = { n: 0, ns: 0, maxNs: 0 };
/** @type {Map<string, number>} */
const split = new Map();
/** @type {Map<string, number>} */
const holder = new Map();
/** @type {(m: Map<string, number>, k: string, v: number) => void} */
const add = (m, k, v) => {
  m.set(k, (m.get(k) ?? 0) + v);
};
/** @type {Map<any, { t0: number, mm: any }>} */
const waiting = new Map();
/** @type {any[] | null} */
let tasks = null;
globalThis.__traceEbizzy = {
  /** @param {any} sched @param {any} machine */
  onSched(sched, machine) {
    if (tasks !== null) return;
    tasks = [];
    const spawn = sched.spawn.bind(sched);
    /** @param {any[]} a */
    sched.spawn = (...a) => {
      const t = spawn(...a);
      tasks?.push(t);
      return t;
    };
    const sim = machine.sim;
    const tick = () => {
      if (sim.now > DURATION_NS) return;
      for (const t of tasks ?? []) classify(t);
      sim.schedule(SAMPLE_NS, tick);
    };
    sim.schedule(SAMPLE_NS, tick);
    st.sim = sim;
  },
  /** @param {string} name */
  onBlock: (name) => add(st.sleeps, name, 1),
  /** @param {number} now */
  onHalt(now) {
    st.halts++;
    if (now > DURATION_NS) st.haltsAfter++;
  },
  /** @param {any} cpu @param {any} mm */
  waitBegin: (cpu, mm) => waiting.set(cpu, { t0: st.sim.now, mm }),
  /** @param {any} cpu */
  waitEnd(cpu) {
    const w = waiting.get(cpu);
    if (w === undefined) return;
    waiting.delete(cpu);
    const d = st.sim.now - w.t0;
    waits.n++;
    waits.ns += d;
    waits.maxNs = Math.max(waits.maxNs, d);
  },
  /** @param {any} mm */
  acquired(mm) {
    st.acquisitions++;
    if (mm.mmapSemWriter || mm.mmapSemReaders > 0) st.enteredHeld++;
  },
};

/** @param {any} cpu */
function doing(cpu) {
  const op = cpu.__shimOp;
  if (waiting.has(cpu)) return "spinning on mmap_sem";
  if (op) return op.startsWith("MMUEXT") ? "own flush through the shim" : "Xen type-change flush";
  return cpu.taskMode === "user" ? "user" : "other kernel work";
}
/** @param {any} t */
function classify(t) {
  const cpu = t.cpu;
  let s;
  if (t.state === "sleeping") s = `asleep (${t.__blockedOn ?? "?"})`;
  else if (cpu === null) s = "runnable, no vCPU";
  else {
    s = `${doing(cpu)}, vCPU ${cpu.preempted ? "descheduled" : "running"}`;
    const w = waiting.get(cpu);
    const h = w?.mm.__owner ?? null;
    if (h) add(holder, `${doing(h)}, vCPU ${h.preempted ? "descheduled" : "running"}`, SAMPLE_NS);
  }
  add(split, s, SAMPLE_NS);
}

try {
  const { runMicro } = await import(pathToFileURL(join(dist, "workloads", "micro.js")).href);
  const r = runMicro({
    workload: "ebizzy",
    profile: "v4.14",
    backend: "xen-pv",
    nrCpus: 32,
    durationNs: DURATION_NS,
    seed: Number(seed),
    host: {
      pcpus: 32,
      otherVcpus: Number(other),
      hypervisor: "xen",
      ...(rq === "cpu" ? { credit2Runqueue: "cpu" } : {}),
    },
    backendOptions: { xenPvHost: shim },
  });
  /** @param {Map<string, number>} m */
  const pct = (m) => {
    const total = [...m.values()].reduce((a, b) => a + b, 0);
    return [...m]
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `  ${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`);
  };
  console.log(
    `ebizzy v4.14 xen-pv ${shim}, ${other} other vCPUs, credit2 runqueue ${rq}, seed ${seed}${recheck ? ", --recheck" : ""}: ` +
      `${r.opsPerSec} records/s, ${r.remoteFlushes} remote flushes (mean wait ${(r.meanFlushWaitNs / 1e3).toFixed(1)} µs)`,
  );
  console.log(`voluntary sleeps: ${JSON.stringify(Object.fromEntries(st.sleeps))}`);
  console.log(`HLT exits: ${st.halts} (${st.haltsAfter} after the ${DURATION_NS / 1e6} ms)`);
  console.log(
    `mmap_sem for write: ${st.acquisitions} acquisitions, ${st.enteredHeld} while it was held; ` +
      `${waits.n} waited, mean ${(waits.ns / Math.max(1, waits.n) / 1e3).toFixed(1)} µs, longest ${(waits.maxNs / 1e3).toFixed(0)} µs`,
  );
  console.log("where the threads are (share of their time):");
  for (const l of pct(split)) console.log(l);
  if (holder.size > 0) {
    console.log("while a thread spins on mmap_sem, the writer that took it last is:");
    for (const l of pct(holder)) console.log(l);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
