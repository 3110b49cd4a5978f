"""CPU profiles of the platform's processes under load (a diagnosis aid, not part of the product).

Python imports ``sitecustomize`` at start from any folder on ``PYTHONPATH``; the benchmark's
processes inherit the benchmark's ``PYTHONPATH``. With ``MILIE_PROFILE_DIR`` set in a process's
environment, this profiles its CPU time with yappi (``pip install yappi`` first: it is not in
the lock) and writes ``<process>-<pid>.prof`` (pstats format) there when it exits:

    PYTHONPATH=bench/profiling .venv/bin/python -m bench.load --requests 2000 \\
        --set intake:MILIE_PROFILE_DIR=/tmp/prof --set gateway:MILIE_PROFILE_DIR=/tmp/prof
    .venv/bin/python -c "import pstats; pstats.Stats('/tmp/prof/intake-1234.prof')\\
        .sort_stats('cumulative').print_stats(40)"

CPU time, not wall time: under load ten processes share two cores, and a wall-clock profiler
charges the time a process waits for a core to whatever it was running. yappi's own cost makes
pure-Python code look heavier than it is; compare shares within one profile, and measure a
change with ``bench.load`` itself.
"""

import os

if os.environ.get("MILIE_PROFILE_DIR"):
    import atexit
    import sys

    import yappi

    yappi.set_clock_type("cpu")
    yappi.start()

    def _write() -> None:
        yappi.stop()
        # python -m services.intake: argv[0] is .../services/intake/__main__.py
        name = os.path.basename(os.path.dirname(sys.argv[0] or "")) or "process"
        path = os.path.join(os.environ["MILIE_PROFILE_DIR"], f"{name}-{os.getpid()}.prof")
        yappi.get_func_stats().save(path, type="pstat")

    atexit.register(_write)
