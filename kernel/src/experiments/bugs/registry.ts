/**
 * The registry of page-table freeing bugs (research in docs/bugs.md), oldest fix first.
 * To add one: a module in this directory exporting a {@link BugDefinition}, and one entry below.
 */
import { UnknownNameError } from "../../sim/errors.js";
import { hugetlbUnshare } from "./hugetlb-unshare.js";
import { missingInvalidate } from "./missing-invalidate.js";
import { mmUsersShortcut } from "./mm-users-shortcut.js";
import { mremapStaleTlb } from "./mremap-stale-tlb.js";
import { mremapMovePmd } from "./mremap-move-pmd.js";
import { ptReclaimRcu } from "./pt-reclaim-rcu.js";
import { retractPteFreeDefer } from "./retract-pte-free-defer.js";
import { seedPvFlush } from "./seed-pv-flush.js";
import { thpCollapse } from "./thp-collapse.js";
import type { BugDefinition } from "./types.js";

export const BUGS: readonly BugDefinition[] = Object.freeze([
  seedPvFlush,
  missingInvalidate,
  mmUsersShortcut,
  mremapStaleTlb,
  thpCollapse,
  retractPteFreeDefer,
  mremapMovePmd,
  ptReclaimRcu,
  hugetlbUnshare,
]);

/** The registry's names, in registry order. */
export function bugNames(): string[] {
  return BUGS.map((b) => b.name);
}

/** The bug called `name`, or a typed error listing the names there are. */
export function bugByName(name: string): BugDefinition {
  const bug = BUGS.find((b) => b.name === name);
  if (bug === undefined)
    throw new UnknownNameError(
      "bug",
      typeof name === "string" ? name : String(name),
      bugNames(),
      "runBug",
    );
  return bug;
}
