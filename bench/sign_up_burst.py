"""Bursts of simultaneous sign-ups against gunicorn, the stub provider answering at once or after a delay.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/waterbill_burst REDIS_URL=redis://127.0.0.1:6379/13 \\
        python -m bench.sign_up_burst --clients 32 --rounds 3 --slow-latency 1

Each round starts `--clients` threads at once, each signing up a new number with plain `requests`, and prints
the wall time until the last answer: what the server does with that many sign-ups in flight, without a load
generator's own scheduling in the way. Rounds alternate the provider at 0 s and at `--slow-latency`, and the
last line prints the ratio of the median rates, from the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from itertools import count

import requests

from bench.server import production_like_env, start_gunicorn
from tests.sms_stub import StubSmsProvider

PASSWORD = "Bench-Eau-potable-2026"  # noqa: S105 -- the throwaway bench accounts' password
_numbers = count()


def burst(base: str, clients: int) -> tuple[float, list[int]]:
    """`clients` sign-ups at once; the wall time until the last answer, and the statuses."""
    statuses: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def sign_up() -> None:
        with lock:
            phone = f"+2376700{next(_numbers):05d}"
        body = {"phone": phone, "first_name": "B", "last_name": "M", "password": PASSWORD, "password_confirm": PASSWORD}
        barrier.wait()
        response = requests.post(f"{base}/api/v1/auth/register/", json=body, timeout=60)
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=sign_up) for _ in range(clients)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, statuses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="rounds per latency")
    parser.add_argument("--slow-latency", type=float, default=1.0)
    args = parser.parse_args()
    env = production_like_env("waterbill_burst", DJANGO_SETTINGS_MODULE="bench.settings")
    rates: dict[float, list[float]] = {0.0: [], args.slow_latency: []}
    with StubSmsProvider() as stub:
        env["TWILIO_API_URL"] = env["STUB_URL"] = stub.url
        gunicorn, base = start_gunicorn(env, os.cpu_count() or 1)
        try:
            burst(base, args.clients)  # warm-up: imports, connections, the pool's growth
            for _ in range(args.rounds):
                for latency in rates:
                    stub.state.latency = latency
                    wall, statuses = burst(base, args.clients)
                    rates[latency].append(args.clients / wall)
                    print(
                        f"provider {latency:g} s: {args.clients} sign-ups in {wall:.2f} s "
                        f"({args.clients / wall:.1f}/s), statuses {sorted(set(statuses))}"
                    )
        finally:
            gunicorn.terminate()
            gunicorn.wait()
    fast, slow = (statistics.median(rates[latency]) for latency in rates)
    print(f"ratio sign-ups/s provider {args.slow_latency:g} s / 0 s (medians): {slow / fast:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
