"""The engine benchmarks of kernel/src/bench/suites/sim.ts, written for SimPy.

SimPy (Debian's python3-simpy3) is the usual reference for process-based discrete-event
simulation. The two workloads are the same as mmulab's, delay for delay:

  timers N EVENTS   N pending timers; each one, when it fires, schedules the next after a delay
                    from the table below, until EVENTS have fired. Prints events per second.
  steps P STEPS     P processes, each yielding STEPS timeouts of delays from the table. Prints
                    process steps per second.

Only env.run() is timed: interpreter start-up and building the model are not. Each side is
written the way someone after speed would write it in that language: here closures' counters
as nonlocal variables (not a dict) and env.timeout looked up once; on mmulab's side one module-level
generator function for every process, as here one `proc`. Run with Debian's
/usr/bin/python3. Prints one JSON object: {"workload", "count", "seconds", "rate"}.
"""

import json
import sys
import time

import simpy

# The same table as sim.ts: the measurement is the engine, not a random generator.
DELAYS = [1 + ((i * 2654435761) % 997) for i in range(4096)]


def timers(n, events):
    env = simpy.Environment()
    fired = 0
    d = 0
    timeout = env.timeout

    def tick(_event):
        nonlocal fired, d
        fired += 1
        if fired < events:
            timeout(DELAYS[d & 4095]).callbacks.append(tick)
            d += 1

    for i in range(n):
        env.timeout(DELAYS[i & 4095]).callbacks.append(tick)
    t0 = time.perf_counter()
    env.run()
    return fired, time.perf_counter() - t0


def steps(procs, steps_each):
    env = simpy.Environment()
    timeout = env.timeout

    def proc(p):
        d = p
        for _ in range(steps_each):
            yield timeout(DELAYS[d & 4095])
            d += 1

    for p in range(procs):
        env.process(proc(p))
    t0 = time.perf_counter()
    env.run()
    return procs * steps_each, time.perf_counter() - t0


def main(argv):
    if len(argv) != 4 or argv[1] not in ("timers", "steps"):
        print("usage: engine.py timers N EVENTS | steps P STEPS", file=sys.stderr)
        return 2
    a, b = int(argv[2]), int(argv[3])
    count, seconds = (timers if argv[1] == "timers" else steps)(a, b)
    print(json.dumps({"workload": argv[1], "count": count, "seconds": seconds, "rate": count / seconds}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
