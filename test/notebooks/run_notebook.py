"""Executes a notebook on the mmulab kernel with Debian's nbclient and checks it.

    JUPYTER_PATH=.jupyter-data /usr/bin/python3 test/notebooks/run_notebook.py \
        test/notebooks/kernel-smoke.ipynb --output test-artifacts/notebooks/kernel-smoke.ipynb

1. Runs the notebook with allow_errors=True (nbclient then sends stop_on_error=False) and writes
   the executed notebook to --output.
2. Runs a two-cell notebook with allow_errors=False, which must raise CellExecutionError naming
   the error's ename and evalue.

Prints one JSON line with what it saw; the vitest side (notebook.test.ts) asserts on it and on the
executed notebook. Exit status 0 unless the run itself broke.
"""
import argparse
import json
import os
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbformat.v4 import new_code_cell, new_notebook


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("notebook")
    parser.add_argument("--output", required=True)
    parser.add_argument("--kernel", default="mmulab")
    parser.add_argument("--timeout", type=int, default=120)
    args = parser.parse_args()

    nb = nbformat.read(args.notebook, as_version=4)
    path = os.path.dirname(os.path.abspath(args.notebook))
    started = time.monotonic()
    client = NotebookClient(
        nb,
        kernel_name=args.kernel,
        timeout=args.timeout,
        startup_timeout=120,
        allow_errors=True,
        resources={"metadata": {"path": path}},
    )
    client.execute()
    seconds = time.monotonic() - started
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    nbformat.write(nb, args.output)

    strict = new_notebook(
        cells=[new_code_cell('throw new RangeError("strict mode stops here")'), new_code_cell("1 + 1")],
        metadata=nb.metadata,
    )
    raised = None
    try:
        NotebookClient(
            strict,
            kernel_name=args.kernel,
            timeout=args.timeout,
            startup_timeout=120,
            allow_errors=False,
            resources={"metadata": {"path": path}},
        ).execute()
    except CellExecutionError as error:
        raised = {"ename": error.ename, "evalue": error.evalue, "message": str(error)}
    second_cell = strict.cells[1]
    json.dump(
        {
            "seconds": round(seconds, 2),
            "strict": raised,
            "strict_second_cell_ran": bool(second_cell.get("outputs")) or second_cell.get("execution_count") is not None,
        },
        sys.stdout,
    )
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
