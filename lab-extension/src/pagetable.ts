/**
 * Renderer for `application/vnd.mmulab.pagetable+json`: one mm's page-table tree.
 *
 * Rows are coloured by page state (live, unlinked, pending RCU, freed, reused), the walker's path
 * is highlighted and expanded, hovering a row shows that frame's history, and the level buttons
 * expand or collapse the whole tree down to a level. Large trees stay fluid: rows are flattened
 * only below expanded nodes, and only the rows inside the scrolled viewport are in the DOM.
 * All text goes in through textContent; nothing from the payload is parsed as HTML.
 */
import type { IRenderMime } from "@jupyterlab/rendermime-interfaces";
import { Widget } from "@lumino/widgets";
import {
  expandToLevel,
  initialExpansion,
  LEVELS,
  parsePageTable,
  STATES,
  visibleRows,
  type Row,
  type TreeModel,
  type TreeNode,
} from "./pagetable-model.js";
import { el, formatCount, formatNs, hex, PAGETABLE_MIME } from "./payload.js";

/** Row height in px; the virtual scroller positions rows by it (keep in sync with the CSS). */
export const ROW_HEIGHT = 22;
/** Viewport height cap in px: taller trees scroll. */
export const MAX_VIEWPORT = 440;
/** Rows drawn above and below the viewport so fast scrolling shows no gaps. */
const OVERSCAN = 10;

const CLASS = "mmulab-PageTable";

/** The widget that draws one page-table payload. */
export class RenderedPageTable extends Widget implements IRenderMime.IRenderer {
  private readonly mimeType: string;
  private model: TreeModel | null = null;
  private rows: Row[] = [];
  private viewport: HTMLDivElement | null = null;
  private spacer: HTMLDivElement | null = null;
  private window: HTMLDivElement | null = null;
  private tooltip: HTMLDivElement | null = null;
  private frame = 0;

  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this.mimeType = options.mimeType;
    this.addClass(CLASS);
  }

  /** Draws the payload; called again when the output updates. Rejects on a bad payload. */
  renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const data = model.data[this.mimeType];
    if (data === undefined) return Promise.resolve();
    try {
      const tree = parsePageTable(data);
      initialExpansion(tree);
      this.model = tree;
      this.build(tree);
      this.refresh();
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  protected override onBeforeDetach(): void {
    if (this.frame !== 0) cancelAnimationFrame(this.frame);
    this.frame = 0;
  }

  private build(tree: TreeModel): void {
    const node = this.node;
    node.replaceChildren();
    node.dataset["nodeCount"] = String(tree.all.length);
    for (const s of STATES) node.dataset[`state${camel(s)}`] = String(tree.counts[s]);

    const head = el("div", `${CLASS}-header`);
    const title = tree.title ?? `page tables of mm ${tree.mm}`;
    head.append(el("span", `${CLASS}-title`, title));
    head.append(
      el(
        "span",
        `${CLASS}-summary`,
        `${formatCount(tree.all.length)} nodes · ${tree.levels}-level paging`,
      ),
    );
    node.append(head);

    const legend = el("div", `${CLASS}-legend`);
    for (const s of STATES) {
      const item = el("span", `${CLASS}-legendItem`);
      item.dataset["state"] = s;
      item.append(el("span", `${CLASS}-swatch mmulab-state-${s}`));
      item.append(el("span", undefined, `${s} ${formatCount(tree.counts[s])}`));
      legend.append(item);
    }
    node.append(legend);

    const bar = el("div", `${CLASS}-toolbar`);
    bar.append(el("span", `${CLASS}-toolbarLabel`, "expand to:"));
    const shown = tree.levels === 5 ? LEVELS : LEVELS.filter((l) => l !== "p4d");
    for (const level of shown) {
      const b = el("button", `${CLASS}-button`, level);
      b.type = "button";
      b.title = `Show every table down to the ${level} level`;
      b.dataset["level"] = level;
      b.addEventListener("click", () => {
        expandToLevel(tree, level);
        this.refresh();
      });
      bar.append(b);
    }
    const walker = el("button", `${CLASS}-button`, "walker path");
    walker.type = "button";
    walker.title = "Collapse everything except the walker's path";
    walker.addEventListener("click", () => {
      for (const n of tree.all) n.expanded = false;
      initialExpansion(tree);
      this.refresh();
      this.scrollToWalker();
    });
    bar.append(walker);
    node.append(bar);

    if (tree.walkerPath.length > 0) {
      const byFrame = new Map<number, TreeNode>();
      for (const n of tree.all) if (!byFrame.has(n.frame)) byFrame.set(n.frame, n);
      const steps = tree.walkerPath.map((f) => {
        const n = byFrame.get(f);
        return n === undefined ? `${hex(f)} (not in tree)` : `${n.level} ${hex(f)} (${n.state})`;
      });
      node.append(el("div", `${CLASS}-walker`, `walker path: ${steps.join(" → ")}`));
    }

    const viewport = el("div", `${CLASS}-viewport`);
    viewport.tabIndex = 0;
    viewport.setAttribute("role", "tree");
    const spacer = el("div", `${CLASS}-spacer`);
    const win = el("div", `${CLASS}-window`);
    spacer.append(win);
    viewport.append(spacer);
    viewport.addEventListener("scroll", () => this.schedule());
    viewport.addEventListener("click", (event) => this.onClick(event));
    viewport.addEventListener("mousemove", (event) => this.onHover(event));
    viewport.addEventListener("mouseleave", () => this.hideTooltip());
    node.append(viewport);

    const tooltip = el("div", `${CLASS}-tooltip`);
    tooltip.hidden = true;
    node.append(tooltip);

    this.viewport = viewport;
    this.spacer = spacer;
    this.window = win;
    this.tooltip = tooltip;
  }

  /** Recomputes the visible rows after an expand or collapse, then redraws the window. */
  private refresh(): void {
    if (this.model === null || this.viewport === null || this.spacer === null) return;
    this.rows = visibleRows(this.model);
    this.node.dataset["visibleRows"] = String(this.rows.length);
    const total = this.rows.length * ROW_HEIGHT;
    this.spacer.style.height = `${total}px`;
    this.viewport.style.height = `${Math.min(total, MAX_VIEWPORT) + 2}px`;
    this.drawWindow();
  }

  private schedule(): void {
    if (this.frame !== 0) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.drawWindow();
    });
  }

  /** Puts the rows that intersect the viewport (plus overscan) into the DOM. */
  private drawWindow(): void {
    if (this.viewport === null || this.window === null) return;
    const height = this.viewport.clientHeight || MAX_VIEWPORT;
    const first = Math.max(0, Math.floor(this.viewport.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(
      this.rows.length,
      Math.ceil((this.viewport.scrollTop + height) / ROW_HEIGHT) + OVERSCAN,
    );
    const fragment = document.createDocumentFragment();
    for (let i = first; i < last; i++) fragment.append(this.drawRow(this.rows[i] as Row, i));
    this.window.style.transform = `translateY(${first * ROW_HEIGHT}px)`;
    this.window.replaceChildren(fragment);
  }

  private drawRow(row: Row, i: number): HTMLElement {
    if (row.kind === "header") {
      const h = el("div", `${CLASS}-row ${CLASS}-groupHeader`, row.text);
      h.dataset["row"] = String(i);
      return h;
    }
    const n = row.node;
    const div = el("div", `${CLASS}-row mmulab-state-${n.state}`);
    div.dataset["row"] = String(i);
    div.dataset["state"] = n.state;
    div.dataset["level"] = n.level;
    div.setAttribute("role", "treeitem");
    if (n.onWalkerPath) div.classList.add(`${CLASS}-onWalkerPath`);
    div.style.paddingLeft = `${4 + n.depth * 16}px`;
    const toggle = el("button", `${CLASS}-toggle`);
    toggle.type = "button";
    if (n.children.length > 0) {
      toggle.textContent = n.expanded ? "▾" : "▸";
      toggle.setAttribute("aria-label", n.expanded ? "collapse" : "expand");
      div.setAttribute("aria-expanded", String(n.expanded));
    } else {
      toggle.disabled = true;
    }
    div.append(toggle);
    div.append(el("span", `${CLASS}-swatch mmulab-state-${n.state}`));
    div.append(el("span", `${CLASS}-level`, n.huge ? `${n.level} (huge)` : n.level));
    div.append(el("span", `${CLASS}-index`, `[${n.index}]`));
    div.append(el("span", `${CLASS}-frame`, `pfn ${hex(n.frame)}`));
    div.append(el("span", `${CLASS}-va`, `va ${hex(n.va)}`));
    if (n.level !== "page") {
      div.append(el("span", `${CLASS}-entries`, `${formatCount(n.entries)} entries`));
    }
    div.append(el("span", `${CLASS}-stateText`, n.state));
    if (n.onWalkerPath) div.append(el("span", `${CLASS}-walkerBadge`, "walker"));
    return div;
  }

  private rowAt(event: Event): { row: Row; el: HTMLElement } | null {
    const target = event.target;
    if (!(target instanceof Element)) return null;
    const rowEl = target.closest<HTMLElement>("[data-row]");
    if (rowEl === null) return null;
    const row = this.rows[Number(rowEl.dataset["row"])];
    return row === undefined ? null : { row, el: rowEl };
  }

  private onClick(event: MouseEvent): void {
    const hit = this.rowAt(event);
    if (hit === null || hit.row.kind !== "node") return;
    const n = hit.row.node;
    if (n.children.length === 0) return;
    n.expanded = !n.expanded;
    this.refresh();
  }

  private onHover(event: MouseEvent): void {
    const hit = this.rowAt(event);
    const tip = this.tooltip;
    if (tip === null) return;
    if (hit === null || hit.row.kind !== "node") {
      this.hideTooltip();
      return;
    }
    const n = hit.row.node;
    if (tip.dataset["frame"] !== String(n.frame) || tip.hidden) {
      tip.replaceChildren();
      tip.dataset["frame"] = String(n.frame);
      tip.append(el("div", `${CLASS}-tooltipTitle`, `${n.level} pfn ${hex(n.frame)} — ${n.state}`));
      if (n.cachedBy.length > 0)
        tip.append(
          el(
            "div",
            `${CLASS}-tooltipCached`,
            `cached by CPU ${n.cachedBy.join(", ")} (paging-structure caches)`,
          ),
        );
      if (n.history.length === 0) {
        tip.append(el("div", `${CLASS}-tooltipEmpty`, "no history recorded"));
      } else {
        const list = el("ol", `${CLASS}-history`);
        for (const h of n.history) {
          list.append(
            el(
              "li",
              undefined,
              `${formatNs(h.t)}  ${h.what}${h.by === undefined ? "" : `  (${h.by})`}`,
            ),
          );
        }
        tip.append(list);
      }
      tip.hidden = false;
    }
    // Below the pointer in the upper half of the widget, above it in the lower half.
    const box = this.node.getBoundingClientRect();
    const y = event.clientY - box.top;
    tip.style.left = `${Math.max(0, event.clientX - box.left + 12)}px`;
    tip.style.top =
      y < box.height / 2 ? `${y + 12}px` : `${Math.max(0, y - tip.offsetHeight - 8)}px`;
  }

  private hideTooltip(): void {
    if (this.tooltip !== null) this.tooltip.hidden = true;
  }

  private scrollToWalker(): void {
    if (this.viewport === null) return;
    const i = this.rows.findIndex((r) => r.kind === "node" && r.node.onWalkerPath);
    if (i >= 0) this.viewport.scrollTop = Math.max(0, (i - 3) * ROW_HEIGHT);
  }
}

function camel(s: string): string {
  return s
    .split("-")
    .map((w) => (w.length > 0 ? (w[0] as string).toUpperCase() + w.slice(1) : w))
    .join("");
}

/** Safe: it only ever creates text nodes and fixed elements, so untrusted outputs may use it. */
export const rendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [PAGETABLE_MIME],
  defaultRank: 40,
  createRenderer: (options) => new RenderedPageTable(options),
};

/** Rank 40: below text/html's 50, so the tree wins over the static SVG fallback. */
const extension: IRenderMime.IExtension = {
  id: "@mmulab/lab-extension:pagetable",
  description: "Page-table tree renderer for mmulab",
  rendererFactory,
  rank: 40,
  dataType: "json",
};

export default extension;
