/**
 * The page-table tree as the renderer holds it: the checked payload turned into mutable nodes
 * with parent links, depth and an `expanded` flag, plus the list of rows currently visible.
 * Lazy expansion and virtual scrolling keep large trees fluid: only expanded nodes are
 * flattened into rows, and the widget draws only the rows in its viewport.
 */
import type { FrameHistoryItem, PageState, PageTableLevel } from "@mmulab/kernel/contract";
import { checkVersion, PAGETABLE_MIME, PAGETABLE_VERSIONS, Reader } from "./payload.js";

export const LEVELS: readonly PageTableLevel[] = ["pgd", "p4d", "pud", "pmd", "pte", "page"];
export const STATES: readonly PageState[] = ["live", "unlinked", "pending-rcu", "freed", "reused"];

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

/** Checks a payload (version first) and builds the tree; throws PayloadError on any bad field. */
export function parsePageTable(data: unknown): TreeModel {
  const record = checkVersion(PAGETABLE_MIME, data, PAGETABLE_VERSIONS);
  const r = new Reader(PAGETABLE_MIME);
  const title = r.optionalString(record["title"], "title");
  const mm = r.count(record["mm"], "mm");
  const levels = r.oneOf(record["levels"], [4, 5] as const, "levels");
  const walkerPath = r
    .optionalArray(record["walkerPath"], "walkerPath")
    .map((f, i) => r.count(f, `walkerPath[${i}]`));
  const onPath = new Set(walkerPath);
  const all: TreeNode[] = [];
  const counts: Record<PageState, number> = {
    live: 0,
    unlinked: 0,
    "pending-rcu": 0,
    freed: 0,
    reused: 0,
  };

  /** Iterative, so a hostile, deeply nested payload cannot overflow the stack. */
  const build = (raw: unknown, path: string, detached: boolean): TreeNode => {
    let top: TreeNode | undefined;
    const stack: { raw: unknown; path: string; parent: TreeNode | null }[] = [
      { raw, path, parent: null },
    ];
    while (stack.length > 0) {
      const item = stack.pop() as (typeof stack)[number];
      const o = r.object(item.raw, item.path);
      const p = item.path;
      const history = r.optionalArray(o["history"], `${p}.history`).map((h, i) => {
        const hp = `${p}.history[${i}]`;
        const ho = r.object(h, hp);
        const by = r.optionalString(ho["by"], `${hp}.by`);
        const entry: FrameHistoryItem = {
          t: r.number(ho["t"], `${hp}.t`),
          what: r.string(ho["what"], `${hp}.what`),
          ...(by === undefined ? {} : { by }),
        };
        return entry;
      });
      const node: TreeNode = {
        level: r.oneOf(o["level"], LEVELS, `${p}.level`),
        index: r.count(o["index"], `${p}.index`),
        frame: r.count(o["frame"], `${p}.frame`),
        va: r.number(o["va"], `${p}.va`),
        state: r.oneOf(o["state"], STATES, `${p}.state`),
        entries: r.count(o["entries"], `${p}.entries`),
        huge: o["huge"] === undefined ? false : o["huge"] === true,
        history,
        children: [],
        parent: item.parent,
        depth: item.parent === null ? 0 : item.parent.depth + 1,
        detached,
        onWalkerPath: false,
        expanded: false,
      };
      node.onWalkerPath = onPath.has(node.frame);
      if (all.length >= MAX_NODES) {
        r.fail(p, `at most ${MAX_NODES} nodes in one tree`, `more`);
      }
      all.push(node);
      counts[node.state] += 1;
      if (item.parent === null) top = node;
      else item.parent.children.push(node);
      const kids = r.optionalArray(o["children"], `${p}.children`);
      for (let i = kids.length - 1; i >= 0; i--) {
        stack.push({ raw: kids[i], path: `${p}.children[${i}]`, parent: node });
      }
    }
    return top as TreeNode;
  };

  const root = build(record["root"], "root", false);
  const detached = r
    .optionalArray(record["detached"], "detached")
    .map((d, i) => build(d, `detached[${i}]`, true));
  return { title, mm, levels, root, detached, walkerPath, all, counts };
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
