import fc from "fast-check";
import { writeSync } from "node:fs";
import { runSpec, systemSpecArb } from "./guests.js";
const specs = fc.sample(systemSpecArb, { seed: 22, numRuns: 1000 });
let i = 0;
for (const s of specs) {
  writeSync(2, `#${i} ${JSON.stringify(s)}\n`);
  const t0 = Date.now();
  try { runSpec(s); } catch (e) { writeSync(2, `  threw ${(e as Error).message.slice(0,200)}\n`); }
  const ms = Date.now() - t0;
  if (ms > 2000) writeSync(2, `  SLOW ${ms} ms\n`);
  i++;
}
writeSync(2, "done\n");
