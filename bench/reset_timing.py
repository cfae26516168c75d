"""Does a password-reset request's timing tell an account from an unknown number? Prints the figures.

gunicorn as production runs it, on PostgreSQL, the Twilio backend against the stub provider answering after
`--latency` seconds. For each of N active accounts and N unknown numbers, interleaved: the reset request's
time to the end of its answer with `Connection: close` (the server closes the socket after the response),
and the next request's time on a kept-alive connection. Usage: `python -m bench.reset_timing [--n 20]`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import requests

from bench.server import ROOT, production_like_env, start_gunicorn, wait_until_serving
from tests.sms_stub import StubSmsProvider


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="numbers of each kind (default 20)")
    parser.add_argument("--latency", type=float, default=0.3, help="the provider's answer time, s (default 0.3)")
    args = parser.parse_args()
    with StubSmsProvider() as stub:
        stub.state.latency = args.latency
        env = production_like_env("waterbill_reset_timing", TWILIO_API_URL=stub.url)
        active = [f"+2376700{n:05d}" for n in range(args.n)]
        unknown = [f"+2376990{n:05d}" for n in range(args.n)]
        create = (
            "from users.tests.factories import UserFactory\n"
            f"for phone in {active!r}: UserFactory(phone=phone)\n"
        )
        subprocess.run([sys.executable, "manage.py", "shell", "-c", create], cwd=ROOT, env=env, check=True)
        server, base = start_gunicorn(env, workers=1)
        try:
            wait_until_serving(base)
            figures: dict[str, dict[str, list[float]]] = {
                kind: {"answer": [], "next": []} for kind in ("active", "unknown")
            }
            for phones in zip(active, unknown, strict=True):
                for kind, phone in zip(("active", "unknown"), phones, strict=True):
                    start = time.perf_counter()
                    answer = requests.post(
                        f"{base}/api/v1/auth/password/reset/", json={"phone": phone},
                        headers={"Connection": "close"}, timeout=30,
                    )
                    figures[kind]["answer"].append(time.perf_counter() - start)
                    assert answer.status_code == 202, answer.text
                    with requests.Session() as session:
                        session.post(f"{base}/api/v1/auth/password/reset/", json={"phone": phone}, timeout=30)
                        start = time.perf_counter()
                        session.get(f"{base}/api/v1/health/", timeout=30)
                        figures[kind]["next"].append(time.perf_counter() - start)
            time.sleep(args.latency * 3)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"Reset timing, {args.n} numbers of each kind, provider latency {args.latency * 1000:.0f} ms:")
    for measure in ("answer", "next"):
        medians = {kind: statistics.median(figures[kind][measure]) * 1000 for kind in figures}
        label = "answer to the end of stream" if measure == "answer" else "next request, same connection"
        print(f"  {label:32} active {medians['active']:7.1f} ms   unknown {medians['unknown']:7.1f} ms   "
              f"ratio {medians['active'] / medians['unknown']:.2f}")
    print(f"  SMS accepted by the provider: {len(stub.state.messages)} (one per active number)")


if __name__ == "__main__":
    main()
