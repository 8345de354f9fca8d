"""HTML reports of executed notebooks, with Debian's nbconvert (used by nbexec.py, and on its own):

    /usr/bin/python3 scripts/report.py NOTEBOOK.ipynb OUT_DIR [--hide-code] [--renderers DIR]

writes OUT_DIR/NAME.html, the static report, and with --renderers (the directory of the standalone
renderers, lab-extension/dist/standalone) OUT_DIR/NAME.interactive.html beside it.

Both are single self-contained files: the "mmulab" template (scripts/report-template) drops the
require.js and MathJax scripts of nbconvert's "lab" template, so nothing is fetched from
file:// or the network. The static report shows each mmulab output's text/html fallback (inline
SVG). The interactive one carries each output's payload as JSON in a <script
type="application/json"> (with <, > and & escaped, so no payload can close the script) beside that
fallback, and inlines the renderers' bundle, which draws the payloads as JupyterLab does.
--hide-code leaves out the code cells' input and prompts.
"""
import copy
import json
import os
import sys

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "report-template")
MMULAB_MIMES = (
    "application/vnd.mmulab.pagetable+json",
    "application/vnd.mmulab.timeline+json",
    "application/vnd.mmulab.plot+json",
)
RENDERERS_JS = "mmulab-renderers.js"
RENDERERS_CSS = "mmulab-renderers.css"


def exporter(hide_code):
    from nbconvert import HTMLExporter

    e = HTMLExporter(template_name="mmulab", extra_template_basedirs=[TEMPLATES])
    if hide_code:
        e.exclude_input = True
        e.exclude_input_prompt = True
        e.exclude_output_prompt = True
    return e


def write(path, text):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def to_html(nb, path, hide_code=False):
    """The static report."""
    body, _ = exporter(hide_code).from_notebook_node(nb)
    write(path, body)


def script_json(value):
    """JSON safe inside a <script> element: no <, > or & (so no </script>, no <!--)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def html_attr(text):
    return (
        text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    )


def text_of(value):
    return "".join(value) if isinstance(value, list) else (value or "")


def interactive_notebook(nb):
    """A copy whose mmulab outputs are report elements the standalone renderers draw."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data")
            if not data:
                continue
            for mime in MMULAB_MIMES:
                if mime not in data:
                    continue
                payload = data.pop(mime)
                if isinstance(payload, str):
                    payload = json.loads(payload)
                static = text_of(data.get("text/html"))
                data["text/html"] = (
                    f'<div class="mmulab-interactive" data-mime="{html_attr(mime)}">'
                    f'<script type="application/json" class="mmulab-payload">{script_json(payload)}</script>'
                    f'<div class="mmulab-static">{static}</div></div>'
                )
    return nb


def to_interactive_html(nb, path, renderers_dir, hide_code=False):
    """The interactive report: the static one's figures drawn by the bundled renderers."""
    for name in (RENDERERS_JS, RENDERERS_CSS):
        if not os.path.isfile(os.path.join(renderers_dir, name)):
            raise FileNotFoundError(
                f"{os.path.join(renderers_dir, name)} is missing: `npm run build` writes the "
                "standalone renderers an interactive report needs"
            )
    with open(os.path.join(renderers_dir, RENDERERS_JS), encoding="utf-8") as handle:
        js = handle.read()
    with open(os.path.join(renderers_dir, RENDERERS_CSS), encoding="utf-8") as handle:
        css = handle.read()
    if "</script" in js.lower() or "</style" in css.lower():
        raise ValueError("the standalone renderers cannot be inlined: they contain </script or </style")
    footer = f"<style>{css}</style>\n<script>{js}</script>"
    body, _ = exporter(hide_code).from_notebook_node(
        interactive_notebook(nb), resources={"mmulab_footer": footer}
    )
    write(path, body)


def main(argv):
    import nbformat

    args = [a for a in argv if not a.startswith("--")]
    hide_code = "--hide-code" in argv
    renderers = None
    if "--renderers" in argv:
        i = argv.index("--renderers")
        if i + 1 >= len(argv):
            sys.stderr.write("report.py: --renderers needs a directory\n")
            return 2
        renderers = argv[i + 1]
        args = [a for a in args if a != renderers]
    if len(args) != 2:
        sys.stderr.write(__doc__)
        return 2
    source, out = args
    nb = nbformat.read(source, as_version=4)
    name = os.path.splitext(os.path.basename(source))[0]
    to_html(nb, os.path.join(out, f"{name}.html"), hide_code)
    if renderers is not None:
        to_interactive_html(nb, os.path.join(out, f"{name}.interactive.html"), renderers, hide_code)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (OSError, ValueError) as error:
        sys.stderr.write(f"report.py: {error}\n")
        sys.exit(2)
