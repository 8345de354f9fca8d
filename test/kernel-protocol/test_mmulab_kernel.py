"""Debian's jupyter_kernel_test suite against the mmulab kernel (kernelspec "mmulab").

Run with Debian's interpreter and the project's Jupyter data directory on JUPYTER_PATH:

    JUPYTER_PATH=.jupyter-data /usr/bin/python3 -m unittest -v test_mmulab_kernel

(test/kernel-protocol/kernel-protocol.test.ts does this from `npm test`.) Every test of
jupyter_kernel_test.KernelTests applies to this kernel and has a sample here: none is skipped and
none is marked as an expected failure. The samples use the simulator's own API where a test allows.
test_restart_kernel adds what the suite lacks: a restart through jupyter_client; the tests after it
check cell semantics users of ipykernel rely on, through jupyter_client as front ends use it.
"""
import unittest

import jupyter_kernel_test


class MmulabKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "mmulab"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The kernel answers at once, but its first cell waits for the TypeScript compiler to
        # load (seconds on a busy machine); the suite allows 15 s per reply. Warm it up first.
        cls.kc.execute_interactive("0", timeout=120)
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("mmulab: stderr works")'

    # A compile-time type error and a simulator exception: each gives exactly one `error` message.
    code_generate_error = 'import { Simulation } from "mmulab";\nnew Simulation({ seed: -1 });'

    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": 'import { VERSION } from "mmulab";\nVERSION', "result": "'0.1.0'"},
        {
            "code": 'import { Simulation } from "mmulab";\nconst sim = new Simulation({ seed: 7 });\nsim.seed',
            "result": "7",
        },
        {"code": "[1, 2, 3].map((x) => x * 2)", "result": "[ 2, 4, 6 ]"},
        {
            "code": 'import { plotBundle } from "mmulab";\n'
            'const fig = { version: 1 as const, data: [{ x: [1, 2], y: [3, 4], name: "ipi" }], layout: {} };\n'
            "fig",
            "mime": "application/vnd.mmulab.plot+json",
        },
    ]

    code_display_data = [
        {
            "code": 'import { display } from "mmulab";\n'
            'display({ version: 1, unit: "ns", lanes: [{ id: "cpu0", label: "CPU 0" }], '
            'spans: [{ lane: "cpu0", start: 0, end: 500, kind: "irq-off", label: "irqs off" }], '
            "instants: [], arrows: [] })",
            "mime": "application/vnd.mmulab.timeline+json",
        },
        {
            "code": 'import { displayBundle } from "mmulab";\n'
            'displayBundle({ "text/plain": "x", "text/html": "<b>x</b>" })',
            "mime": "text/html",
        },
    ]

    code_page_something = 'import { page } from "mmulab";\npage("the pager shows this")'

    code_clear_output = 'import { clearOutput } from "mmulab";\nclearOutput()'

    completion_samples = [
        {"text": "Math.fl", "matches": {"floor"}},
        {"text": 'import * as mm from "mmulab";\nmm.SimulationSto', "matches": {"SimulationStopped"}},
    ]

    complete_code_samples = ["1 + 1", "const x = 3;", 'import { Simulation } from "mmulab";']
    incomplete_code_samples = ["function f(a: number) {", "const xs = [1, 2,", "sim.run({"]
    invalid_code_samples = ["1 +* 2", "const = 5;", "}}"]

    code_inspect_sample = 'import { Simulation } from "mmulab";\nSimulation'

    supported_history_operations = ("tail", "range", "search")
    code_history_pattern = "6 * *"

    def test_restart_kernel(self):
        """shutdown_request(restart=True) ends the process promptly; the client starts a new one
        on the same ports and the channels carry on (state is gone, as after any restart)."""
        self.kc.execute_interactive("const beforeRestart = 1;", timeout=60)
        self.km.restart_kernel(now=False)
        self.kc.wait_for_ready(timeout=120)
        reply = self.kc.execute_interactive("typeof globalThis", timeout=120)
        self.assertEqual(reply["content"]["status"], "ok")
        gone = self.kc.execute_interactive("beforeRestart", timeout=60)
        self.assertEqual(gone["content"]["ename"], "TSError")

    def test_failed_cell_keeps_assignments(self):
        """Assignments that ran before a cell's exception stay, as in IPython; later ones do not."""
        failed = self.kc.execute_interactive(
            'const keptAfterError = 41;\nthrow new Error("x");\nconst neverReached = 1;', timeout=60
        )
        self.assertEqual(failed["content"]["status"], "error")
        kept = self.kc.execute_interactive("keptAfterError + 1", timeout=60)
        self.assertEqual(kept["content"]["status"], "ok")
        gone = self.kc.execute_interactive("neverReached", timeout=60)
        self.assertIn("Cannot find name 'neverReached'", gone["content"]["evalue"])

    def test_inspect_in_call_parentheses(self):
        """Shift+Tab right after `runTrial(` shows the function's signature and doc."""
        code = 'import { runTrial } from "mmulab";\nrunTrial('
        msg_id = self.kc.inspect(code, cursor_pos=len(code))
        reply = self.kc.get_shell_msg(timeout=60)
        self.assertEqual(reply["parent_header"]["msg_id"], msg_id)
        self.assertTrue(reply["content"]["found"])
        text = reply["content"]["data"]["text/plain"]
        self.assertIn("runTrial(opts: TrialOptions): TrialResult", text)
        self.assertIn("race scenario", text)

    def test_aborted_reply_has_no_execution_count(self):
        """A request queued behind a failing one is aborted; its reply has only its status."""
        first = self.kc.execute('throw new Error("first")', stop_on_error=True)
        second = self.kc.execute("1 + 1")
        replies = {}
        while len(replies) < 2:
            reply = self.kc.get_shell_msg(timeout=60)
            replies[reply["parent_header"]["msg_id"]] = reply["content"]
        self.assertEqual(replies[first]["status"], "error")
        self.assertEqual(replies[second], {"status": "aborted"})


if __name__ == "__main__":
    unittest.main()
