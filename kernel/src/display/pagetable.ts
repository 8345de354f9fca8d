/**
 * `application/vnd.mmulab.pagetable+json` → text and a static SVG tree.
 *
 * The tree is laid out left to right with d3-hierarchy's tidy tree (Reingold–Tilford), one column
 * per paging level. A static picture cannot show 100 000 nodes, so it shows the first
 * {@link MAX_SVG_NODES} in breadth-first order and puts a "+N more" leaf where children were cut;
 * the interactive renderer in the lab extension shows everything.
 */
import { hierarchy, tree } from "d3-hierarchy";
import { PAGETABLE_MIME, type PageTableNode, type PageTablePayload } from "../contract/mime.js";
import type { MimeBundle } from "./runtime.js";
import { esc, htmlFigure, PAGE_STATE_COLOURS, px, svgOpen } from "./svg.js";
import { checkPageTablePayload } from "../contract/payload.js";

/** Nodes drawn in the static SVG at most. */
export const MAX_SVG_NODES = 400;
/** Lines of the text tree at most. */
export const MAX_TEXT_LINES = 40;

const COLUMN = 150;
const ROW = 22;
const MARGIN = { top: 28, right: 150, bottom: 16, left: 16 };

interface DrawNode {
  readonly node: PageTableNode | null;
  /** For a "+N more" leaf: how many were cut. */
  readonly more: number;
  readonly children: DrawNode[];
}

function nodeLabel(n: PageTableNode): string {
  if (n.level === "page") return `page #${n.frame}${n.huge === true ? " (huge)" : ""}`;
  const huge = n.huge === true ? " huge" : "";
  return `${n.level} #${n.frame}${huge} · ${n.entries}`;
}

/** Breadth-first copy of the tree keeping at most `max` nodes. */
function truncate(
  root: PageTableNode,
  max: number,
): { draw: DrawNode; shown: number; total: number } {
  let total = 0;
  const count = (n: PageTableNode): void => {
    total++;
    for (const c of n.children ?? []) count(c);
  };
  count(root);
  const top: DrawNode = { node: root, more: 0, children: [] };
  let shown = 1;
  const queue: [PageTableNode, DrawNode][] = [[root, top]];
  while (queue.length > 0) {
    const [src, dst] = queue.shift()!;
    const kids = src.children ?? [];
    let i = 0;
    for (; i < kids.length && shown < max; i++) {
      const child: DrawNode = { node: kids[i]!, more: 0, children: [] };
      dst.children.push(child);
      queue.push([kids[i]!, child]);
      shown++;
    }
    if (i < kids.length) {
      let cut = 0;
      for (let j = i; j < kids.length; j++) {
        const stack = [kids[j]!];
        while (stack.length > 0) {
          const n = stack.pop()!;
          cut++;
          stack.push(...(n.children ?? []));
        }
      }
      dst.children.push({ node: null, more: cut, children: [] });
    }
  }
  return { draw: top, shown, total };
}

/** The `text/plain` rendering: a summary line, then an indented tree (capped). */
export function pageTablesText(p: PageTablePayload): string {
  const perLevel = new Map<string, number>();
  let entries = 0;
  const lines: string[] = [];
  let cut = 0;
  const walk = (n: PageTableNode, prefix: string, last: boolean, depth: number) => {
    perLevel.set(n.level, (perLevel.get(n.level) ?? 0) + 1);
    entries += n.entries;
    if (lines.length < MAX_TEXT_LINES) {
      const branch = depth === 0 ? "" : last ? "└─ " : "├─ ";
      const where = depth === 0 ? "" : `[${n.index}] `;
      lines.push(`${prefix}${branch}${where}${nodeLabel(n)} ${n.state}`);
    } else cut++;
    const kids = n.children ?? [];
    const next = depth === 0 ? "" : prefix + (last ? "   " : "│  ");
    kids.forEach((c, i) => walk(c, next, i === kids.length - 1, depth + 1));
  };
  walk(p.root, "", true, 0);
  const levels = [...perLevel.entries()].map(([l, n]) => `${l} ${n}`).join(", ");
  const head = [
    `${p.title !== undefined ? `${p.title}: ` : ""}page tables of mm ${p.mm} ` +
      `(${p.levels} levels): ${levels}; ${entries} present entries`,
  ];
  if (p.walkerPath !== undefined && p.walkerPath.length > 0) {
    head.push(`walker path: ${p.walkerPath.map((f) => `#${f}`).join(" → ")}`);
  }
  const detached = p.detached ?? [];
  if (detached.length > 0) {
    const byState = new Map<string, number>();
    for (const d of detached) byState.set(d.state, (byState.get(d.state) ?? 0) + 1);
    head.push(
      `detached tables: ${detached.length} (` +
        [...byState.entries()].map(([s, n]) => `${s} ${n}`).join(", ") +
        ")",
    );
  }
  if (cut > 0) lines.push(`… ${cut} more nodes`);
  return [...head, ...lines].join("\n");
}

/** The static SVG of the tree (with a legend and the detached tables beneath). */
export function pageTablesSvg(p: PageTablePayload): string {
  const { draw, shown, total } = truncate(p.root, MAX_SVG_NODES);
  const root = hierarchy<DrawNode>(draw, (d) => d.children);
  const layout = tree<DrawNode>().nodeSize([ROW, COLUMN]);
  const laid = layout(root);
  let minX = Infinity;
  let maxX = -Infinity;
  let maxY = 0;
  laid.each((n) => {
    minX = Math.min(minX, n.x);
    maxX = Math.max(maxX, n.x);
    maxY = Math.max(maxY, n.y);
  });
  const walker = new Set(p.walkerPath ?? []);
  const detached = p.detached ?? [];
  const detachedRows = detached.length > 0 ? Math.ceil(Math.min(detached.length, 60) / 6) : 0;
  const treeHeight = maxX - minX + ROW;
  const width = Math.max(maxY + MARGIN.left + MARGIN.right, 520);
  const height = MARGIN.top + treeHeight + (detachedRows > 0 ? 24 + detachedRows * ROW : 0) + 40;
  const X = (n: { y: number }) => MARGIN.left + n.y;
  const Y = (n: { x: number }) => MARGIN.top + (n.x - minX) + ROW / 2;

  const title = p.title ?? `page tables of mm ${p.mm}`;
  const parts: string[] = [svgOpen(width, height, title)];
  parts.push(
    `<text x="${MARGIN.left}" y="16" font-weight="bold">${esc(title)} (${p.levels}-level)</text>`,
  );
  // Links first, so nodes draw over them.
  for (const link of laid.links()) {
    const s = link.source;
    const t = link.target;
    const onPath =
      s.data.node !== null &&
      t.data.node !== null &&
      walker.has(s.data.node.frame) &&
      walker.has(t.data.node.frame);
    const mx = (X(s) + X(t)) / 2;
    parts.push(
      `<path d="M${px(X(s))},${px(Y(s))}C${px(mx)},${px(Y(s))} ${px(mx)},${px(Y(t))} ` +
        `${px(X(t))},${px(Y(t))}" fill="none" stroke="${onPath ? "#d03b3b" : "#c8c8c8"}" ` +
        `stroke-width="${onPath ? 2.5 : 1}"/>`,
    );
  }
  laid.each((n) => {
    const x = X(n);
    const y = Y(n);
    const node = n.data.node;
    if (node === null) {
      parts.push(`<text x="${px(x + 6)}" y="${px(y + 4)}" fill="#777">+${n.data.more} more</text>`);
      return;
    }
    const colour = PAGE_STATE_COLOURS[node.state] ?? "#999";
    const onPath = walker.has(node.frame);
    const history = (node.history ?? [])
      .map((h) => `${h.t} ns ${h.what}${h.by !== undefined ? ` (${h.by})` : ""}`)
      .join("\n");
    parts.push(
      `<g><title>${esc(
        `${node.level} frame ${node.frame}, index ${node.index}, ` +
          `${node.entries} entries, ${node.state}, va 0x${node.va.toString(16)}` +
          (history !== "" ? `\n${history}` : ""),
      )}</title>` +
        `<circle cx="${px(x)}" cy="${px(y)}" r="5" fill="${colour}" ` +
        `stroke="${onPath ? "#d03b3b" : "#333"}" stroke-width="${onPath ? 2.5 : 0.8}"/>` +
        `<text x="${px(x + 8)}" y="${px(y + 4)}">${esc(nodeLabel(node))}</text></g>`,
    );
  });
  let y = MARGIN.top + treeHeight + 8;
  if (detachedRows > 0) {
    parts.push(
      `<text x="${MARGIN.left}" y="${px(y + 8)}" font-weight="bold">detached tables</text>`,
    );
    y += 16;
    detached.slice(0, 60).forEach((d, i) => {
      const cx = MARGIN.left + 6 + (i % 6) * 130;
      const cy = y + Math.floor(i / 6) * ROW + ROW / 2;
      parts.push(
        `<g><title>${esc(`${d.level} frame ${d.frame}: ${d.state}`)}</title>` +
          `<circle cx="${px(cx)}" cy="${px(cy)}" r="5" fill="${PAGE_STATE_COLOURS[d.state] ?? "#999"}" stroke="${walker.has(d.frame) ? "#d03b3b" : "#333"}" stroke-width="${walker.has(d.frame) ? 2.5 : 0.8}"/>` +
          `<text x="${px(cx + 8)}" y="${px(cy + 4)}">${esc(`${d.level} #${d.frame} ${d.state}`)}</text></g>`,
      );
    });
    y += detachedRows * ROW;
  }
  // Legend.
  const legendY = height - 12;
  let lx = MARGIN.left;
  for (const [state, colour] of Object.entries(PAGE_STATE_COLOURS)) {
    parts.push(
      `<circle cx="${px(lx + 5)}" cy="${px(legendY - 4)}" r="5" fill="${colour}"/>` +
        `<text x="${px(lx + 13)}" y="${px(legendY)}">${esc(state)}</text>`,
    );
    lx += 26 + state.length * 6.5;
  }
  if (walker.size > 0) {
    parts.push(
      `<line x1="${px(lx)}" y1="${px(legendY - 4)}" x2="${px(lx + 18)}" y2="${px(legendY - 4)}" stroke="#d03b3b" stroke-width="2.5"/>` +
        `<text x="${px(lx + 22)}" y="${px(legendY)}">walker path</text>`,
    );
  }
  parts.push("</svg>");
  const caption = shown < total ? `showing ${shown} of ${total} nodes` : "";
  return htmlFigure("pagetable", parts.join(""), caption);
}

/** The full bundle: payload, static SVG and text. Validates first. */
export function pageTablesBundle(payload: PageTablePayload): MimeBundle {
  checkPageTablePayload(payload);
  return {
    [PAGETABLE_MIME]: payload as unknown as MimeBundle[string],
    "text/html": pageTablesSvg(payload),
    "text/plain": pageTablesText(payload),
  };
}
