"""The quickstart demo: bring up the example project's services, run a real
transformation through them, show where everything went, and stop what it started.

Run it with ``make demo`` (which installs what it needs first).
"""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> int:
    t0 = time.monotonic()
    import seamless
    import seamless.config
    from seamless.transformer import delayed

    from seamless_config import session

    print("== bringing up the services of", HERE)
    seamless.config.set_workdir(HERE)
    seamless.config.init()
    plan, outcomes = session.current_plan(), session.SESSION.outcomes
    print(f"   cluster {plan.cluster}, project {plan.project}, execution {plan.execution}"
          f" via {plan.remote}, persistent {plan.persistent} ({time.monotonic() - t0:.1f} s)")

    @delayed
    def pairwise_distances(n):
        import math

        points = [(math.cos(i), math.sin(2 * i)) for i in range(n)]
        return round(sum(math.dist(p, q) for p in points for q in points), 6)

    print("== running a transformation through the jobserver")
    t1 = time.monotonic()
    tf = pairwise_distances(300)
    result = tf.run()
    print(f"   result: {result}  ({time.monotonic() - t1:.2f} s; checksum {tf.transformation_checksum.hex()[:16]}...)")

    print("== services")
    print(f"   {'SERVICE':<12} {'STATE':<9} {'ADDRESS':<17} KEY")
    for o in outcomes:
        print(f"   {o.role:<12} {o.state:<9} {o.hostname + ':' + str(o.port):<17} {o.key}")

    print("== where the cached results went")
    for sp in plan.services:
        if sp.role in ("hashserver", "database"):
            workdir = sp.launch.get("workdir")
            files = sum(len(f) for _, _, f in os.walk(workdir)) if os.path.isdir(workdir) else 0
            print(f"   {sp.role:<12} {workdir}  ({files} files)")
    print("   (run `make demo` again: the result then comes from the database)")

    seamless.close()
    started = [o for o in outcomes if o.state == "launched"]
    if started:
        from effects.hosts import LocalHost
        from effects.services import stop

        print("== stopping the services this run started")
        for o in started:
            stop(LocalHost(), o.key)
            print(f"   stopped {o.role}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
