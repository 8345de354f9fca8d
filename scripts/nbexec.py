"""Executes notebooks headless on a Jupyter kernel with Debian's nbclient, and converts them to HTML
with Debian's nbconvert. The Node side (scripts/notebooks.mjs) injects parameters, sets
JUPYTER_PATH so that the `mmulab` kernelspec is found, and calls this with a job file:

    /usr/bin/python3 scripts/nbexec.py JOBS.json

JOBS.json: {"kernel": "mmulab", "timeout": 600, "jobs": [{"input": "in.ipynb",
"output": "out.ipynb", "html": "out.html" | null, "cwd": "dir the kernel starts in",
"interactive": "out.interactive.html" | null, "renderers": "dir of the standalone renderers",
"hide_code": false}]}  (the HTML reports: scripts/report.py)

Each notebook runs top to bottom and stops at the first failing cell (as papermill does); the
executed notebook is written either way, with the error in the failing cell's outputs, and the
HTML report is written from it. Prints one JSON line per job as it finishes, then exits 0; the
Node side decides what a failure means.
"""
import json
import os
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from report import to_html, to_interactive_html


def first_error(nb):
    """(cell index, ename, evalue) of the first error output, or None."""
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return index, output.get("ename", ""), output.get("evalue", "")
    return None


def run_job(job, kernel, timeout):
    nb = nbformat.read(job["input"], as_version=4)
    started = time.monotonic()
    failure = None
    client = NotebookClient(
        nb,
        kernel_name=kernel,
        timeout=timeout,
        startup_timeout=120,
        allow_errors=False,
        record_timing=False,
        resources={"metadata": {"path": job["cwd"]}},
    )
    try:
        client.execute()
    except CellExecutionError as error:
        failure = {"kind": "cell", "ename": error.ename, "evalue": error.evalue}
    except (CellTimeoutError, DeadKernelError) as error:
        failure = {"kind": type(error).__name__, "ename": type(error).__name__, "evalue": str(error)}
    seconds = time.monotonic() - started
    nb.metadata.setdefault("mmulab", {})["execution"] = {"seconds": round(seconds, 2)}
    os.makedirs(os.path.dirname(os.path.abspath(job["output"])), exist_ok=True)
    nbformat.write(nb, job["output"])
    found = first_error(nb)
    if failure is not None and found is not None:
        failure["cell"] = found[0]
    html_seconds = None
    if job.get("html"):
        t0 = time.monotonic()
        to_html(nb, job["html"], job.get("hide_code", False))
        if job.get("interactive") and job.get("renderers"):
            to_interactive_html(
                nb, job["interactive"], job["renderers"], job.get("hide_code", False)
            )
        html_seconds = round(time.monotonic() - t0, 2)
    return {
        "input": job["input"],
        "output": job["output"],
        "html": job.get("html"),
        "interactive": job.get("interactive"),
        "seconds": round(seconds, 2),
        "html_seconds": html_seconds,
        "failure": failure,
    }


def main() -> int:
    if len(sys.argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    with open(sys.argv[1], encoding="utf-8") as handle:
        spec = json.load(handle)
    kernel = spec.get("kernel", "mmulab")
    timeout = int(spec.get("timeout", 600))
    for job in spec["jobs"]:
        result = run_job(job, kernel, timeout)
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
