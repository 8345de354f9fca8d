/**
 * The page-table tree as the renderer holds it: the checked payload turned into mutable nodes
 * with parent links, depth and an `expanded` flag, plus the list of rows currently visible.
 * Lazy expansion and virtual scrolling keep large trees fluid: only expanded nodes are
 * flattened into rows, and the widget draws only the rows in its viewport.
 */
import type {
  FrameHistoryItem,
  PageState,
  PageTableLevel,
  PageTableNode,
} from "@mmulab/kernel/contract";
import {
  checkPageTablePayload,
  Fields,
  PAGE_STATES,
  PAGETABLE_LEVELS,
  PAGETABLE_MIME,
} from "@mmulab/kernel/contract";

export const LEVELS = PAGETABLE_LEVELS;
export const STATES = PAGE_STATES;

/** More nodes than this is a payload mistake, not a tree to draw. */
export const MAX_NODES = 2_000_000;

export interface TreeNode {
  readonly level: PageTableLevel;
  readonly index: number;
  readonly frame: number;
  readonly va: number;
  readonly state: PageState;
  readonly entries: number;
  readonly huge: boolean;
  readonly history: readonly FrameHistoryItem[];
  /** CPUs whose paging-structure caches point at this table. */
  readonly cachedBy: readonly number[];
  readonly children: TreeNode[];
  readonly parent: TreeNode | null;
  readonly depth: number;
  readonly detached: boolean;
  onWalkerPath: boolean;
  expanded: boolean;
}

export interface TreeModel {
  readonly title: string | undefined;
  readonly mm: number;
  readonly levels: 4 | 5;
  readonly root: TreeNode;
  readonly detached: readonly TreeNode[];
  readonly walkerPath: readonly number[];
  /** Every node, tree then detached, in depth-first order. */
  readonly all: readonly TreeNode[];
  readonly counts: Readonly<Record<PageState, number>>;
}

/** Checks a payload with the contract's validator (version first; throws PayloadError on any
 * bad field) and builds the tree. */
export function parsePageTable(data: unknown): TreeModel {
  checkPageTablePayload(data);
  const r = new Fields(PAGETABLE_MIME);
  const walkerPath = [...(data.walkerPath ?? [])];
  const onPath = new Set(walkerPath);
  const all: TreeNode[] = [];
  const counts: Record<PageState, number> = {
    live: 0,
    unlinked: 0,
    "pending-rcu": 0,
    freed: 0,
    reused: 0,
  };

  /** Iterative, so a deeply nested payload cannot overflow the stack. */
  const build = (raw: PageTableNode, path: string, detached: boolean): TreeNode => {
    let top: TreeNode | undefined;
    const stack: { raw: PageTableNode; path: string; parent: TreeNode | null }[] = [
      { raw, path, parent: null },
    ];
    while (stack.length > 0) {
      const { raw: o, path: p, parent } = stack.pop() as (typeof stack)[number];
      const history = (o.history ?? []).map((h): FrameHistoryItem => ({
        t: h.t,
        what: h.what,
        ...(h.by === undefined ? {} : { by: h.by }),
      }));
      const node: TreeNode = {
        level: o.level,
        index: o.index,
        frame: o.frame,
        va: o.va,
        state: o.state,
        entries: o.entries,
        huge: o.huge === true,
        history,
        cachedBy: [...(o.cachedBy ?? [])],
        children: [],
        parent,
        depth: parent === null ? 0 : parent.depth + 1,
        detached,
        onWalkerPath: onPath.has(o.frame),
        expanded: false,
      };
      if (all.length >= MAX_NODES) {
        r.fail(p, `at most ${MAX_NODES} nodes in one tree`, `more`);
      }
      all.push(node);
      counts[node.state] += 1;
      if (parent === null) top = node;
      else parent.children.push(node);
      const kids = o.children ?? [];
      for (let i = kids.length - 1; i >= 0; i--) {
        stack.push({ raw: kids[i]!, path: `${p}.children[${i}]`, parent: node });
      }
    }
    return top as TreeNode;
  };

  const root = build(data.root, "root", false);
  const detached = (data.detached ?? []).map((d, i) => build(d, `detached[${i}]`, true));
  return {
    title: data.title,
    mm: data.mm,
    levels: data.levels,
    root,
    detached,
    walkerPath,
    all,
    counts,
  };
}

/** Expands the root and every node on the walker's path (with its ancestors). */
export function initialExpansion(model: TreeModel): void {
  model.root.expanded = true;
  for (const node of model.all) {
    if (!node.onWalkerPath) continue;
    for (let n: TreeNode | null = node; n !== null; n = n.parent) n.expanded = true;
  }
}

/** Expands every node above `level` and collapses the rest: "show the tree down to pmd". */
export function expandToLevel(model: TreeModel, level: PageTableLevel): void {
  const depth = LEVELS.indexOf(level);
  for (const node of model.all) node.expanded = LEVELS.indexOf(node.level) < depth;
}

export type Row =
  | { readonly kind: "node"; readonly node: TreeNode }
  | { readonly kind: "header"; readonly text: string };

/** The rows to show: expanded nodes' children, depth first; detached tables under a header. */
export function visibleRows(model: TreeModel): Row[] {
  const rows: Row[] = [];
  const walk = (top: TreeNode): void => {
    const stack: TreeNode[] = [top];
    while (stack.length > 0) {
      const node = stack.pop() as TreeNode;
      rows.push({ kind: "node", node });
      if (!node.expanded) continue;
      for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i] as TreeNode);
    }
  };
  walk(model.root);
  if (model.detached.length > 0) {
    rows.push({
      kind: "header",
      text: `detached tables, no longer reachable from the root (${model.detached.length})`,
    });
    for (const d of model.detached) walk(d);
  }
  return rows;
}
