"""The engine benchmarks of kernel/src/bench/suites/sim.ts, written for SimPy.

SimPy (Debian's python3-simpy3) is the usual reference for process-based discrete-event
simulation. The two workloads are the same as mmulab's, delay for delay:

  timers N EVENTS   N pending timers; each one, when it fires, schedules the next after a delay
                    from the table below, until EVENTS have fired. Prints events per second.
  steps P STEPS     P processes, each yielding STEPS timeouts of delays from the table. Prints
                    process steps per second.

Only env.run() is timed: interpreter start-up and building the model are not. Run with Debian's
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
    state = {"fired": 0, "d": 0}

    def tick(_event):
        state["fired"] += 1
        if state["fired"] < events:
            t = env.timeout(DELAYS[state["d"] & 4095])
            state["d"] += 1
            t.callbacks.append(tick)

    for i in range(n):
        env.timeout(DELAYS[i & 4095]).callbacks.append(tick)
    t0 = time.perf_counter()
    env.run()
    return state["fired"], time.perf_counter() - t0


def steps(procs, steps_each):
    env = simpy.Environment()

    def proc(p):
        d = p
        for _ in range(steps_each):
            yield env.timeout(DELAYS[d & 4095])
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
