"""Benchmark: the API as production runs it, driven by Locust, with the ceilings measured in the same run.

    python -m bench.benchmark                  # ~3 minutes; prints the table and the ratios
    python -m bench.benchmark --plot bench.png # also throughput and latency against concurrency (slower)

Starts gunicorn from gunicorn.conf.py as the Dockerfile does (workers = cores, GUNICORN_THREADS threads each)
on a fresh PostgreSQL database (DATABASE_URL's server; default postgres://postgres@127.0.0.1:5432/waterbill_bench,
dropped and re-created), Redis if REDIS_URL is set, and the stub SMS provider with --sms-latency. Then, each for
--duration seconds: the bare Django view and GET /users/me/ at --concurrency clients; sign-ups alone at
concurrency = cores; the onboarding flow (register, activate, me, refresh, me, login). Separately it measures the
raw rate of the configured password hasher on every core. The ratios are the figures that count on a noisy machine.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests

from bench.cpu import Cost, ServerCpu, in_threads, per_request
from bench.server import ROOT, production_like_env, server_shape, start_gunicorn, worker_pids
from tests.sms_stub import StubSmsProvider

CORES = os.cpu_count() or 1


def _hash_for(seconds: float, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password

    count, deadline, cpu = 0, time.monotonic() + seconds, time.process_time()
    while time.monotonic() < deadline:
        make_password("Bench-Eau-potable-2026")
        count += 1
    queue.put((count, time.process_time() - cpu))


def hash_rate(env: dict[str, str], seconds: float = 8.0) -> tuple[float, float]:
    """Hashes per second of the configured hasher with one process per core (no server running), and the CPU
    milliseconds of one hash: the unit of the CPU targets."""
    os.environ.update({k: v for k, v in env.items() if k in ("DJANGO_SECRET_KEY", "SMS_BACKEND", "DJANGO_DEBUG")})
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    procs = [multiprocessing.Process(target=_hash_for, args=(seconds, queue)) for _ in range(CORES)]
    for proc in procs:
        proc.start()
    counts, cpus = zip(*(queue.get() for _ in procs), strict=True)
    for proc in procs:
        proc.join()
    return sum(counts) / seconds, 1000 * sum(cpus) / sum(counts)


def locust(
    base: str, user_class: str, users: int, seconds: int, env: dict[str, str], failures: Counter[str] | None = None
) -> dict[str, dict[str, float]]:
    """Run Locust headless; per request name: requests/s, p50/p95/p99 (ms), failures. With `failures`, also
    tally the failed requests as "NAME: STATUS CODE" (e.g. "register: 503 sms_busy")."""
    with tempfile.TemporaryDirectory() as tmp:
        prefix = f"{tmp}/run"
        subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
             "--users", str(users), "--spawn-rate", str(users), "--run-time", f"{seconds}s", "--host", base,
             # Requests under way when the time is up finish (a hanging provider's take 7 s), instead of being
             # cut and tallied as failures with no status.
             "--stop-timeout", "15",
             "--csv", prefix, "--only-summary", "--loglevel", "WARNING", user_class],
            cwd=ROOT, env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        rows = list(csv.DictReader(open(f"{prefix}_stats.csv")))
        if failures is not None:
            for failure in csv.DictReader(open(f"{prefix}_failures.csv")):
                found = re.search(r"(\d{3}) (\w+)", failure["Error"])
                failures[f"{failure['Name']}: {found.group(0) if found else failure['Error'][:60]}"] += int(
                    failure["Occurrences"]
                )
    return {
        row["Name"]: {
            "rps": float(row["Requests/s"]),
            "p50": float(row["50%"]),
            "p95": float(row["95%"]),
            "p99": float(row["99%"]),
            "requests": int(row["Request Count"]),
            "failures": int(row["Failure Count"]),
        }
        for row in rows
        if row["Name"] != "Aggregated"
    }


@dataclass(frozen=True)
class Provider:
    """How the stub provider answers during a load phase."""

    label: str
    latency: float = 0.0  # seconds before accepting
    hang: float = 0.0  # > 0: answer only after this many seconds (past the backends' 7 s read timeout)

    def apply(self, stub: StubSmsProvider) -> None:
        stub.state.mode = "hang" if self.hang else "accept"
        stub.state.hang_seconds = self.hang
        stub.state.latency = self.latency


def under_sign_up_load(
    base: str, stub: StubSmsProvider, provider: Provider, sign_ups: int, readers: int, seconds: int,
    env: dict[str, str],
) -> tuple[dict[str, dict[str, float]], Counter[str]]:
    """`sign_ups` clients signing up while the provider answers as `provider` says, and meanwhile `readers`
    clients on GET /users/me/ and 2 logging in every 0.2 s (with accounts made before: BENCH_ACCOUNTS): the
    figures of each, by request name, and the failed requests by status and code."""
    provider.apply(stub)
    results: dict[str, dict[str, float]] = {}
    failures: Counter[str] = Counter()
    phases = [("RegisterUser", sign_ups), ("MeUser", readers), ("LoginUser", 2)]
    threads = [
        threading.Thread(target=lambda c=cls, n=n: results.update(locust(base, c, n, seconds, env, failures)))
        for cls, n in phases
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    Provider("accept").apply(stub)
    return results, failures


PASSWORD = "Bench-Eau-potable-2026"  # noqa: S105 -- the throwaway bench accounts' password


def server_cpu(
    base: str, stub: StubSmsProvider, cpu: ServerCpu, accounts: int, reads: int
) -> tuple[dict[str, Cost], dict[str, dict[str, str]]]:
    """The server's CPU milliseconds per request, each operation measured on its own from `CORES` clients:
    `accounts` sign-ups, their activations (with the sign-up token), each one's first GET /users/me/, a login
    to each; `reads` GET /users/me/ and as many bare views. Returns them by name, with "onboarding" = register
    + activate + first me, as one customer's first minute costs; and each account's token pair, by phone."""
    phones = [f"+2376995{n:05d}" for n in range(accounts)]
    tokens: dict[str, str] = {}
    pairs: dict[str, dict[str, str]] = {}
    api = f"{base}/api/v1"

    def register(session: requests.Session, phone: object) -> None:
        body = {"phone": phone, "first_name": "Bench", "last_name": "Mark", "password": PASSWORD,
                "password_confirm": PASSWORD}
        response = session.post(f"{api}/auth/register/", json=body, timeout=30)
        response.raise_for_status()
        tokens[str(phone)] = response.json()["signup_token"]

    def activate(session: requests.Session, phone: object) -> None:
        body = {"phone": phone, "code": codes[str(phone)], "signup_token": tokens[str(phone)]}
        response = session.post(f"{api}/auth/activate/", json=body, timeout=30)
        response.raise_for_status()
        pairs[str(phone)] = response.json()

    def first_me(session: requests.Session, phone: object) -> None:
        headers = {"Authorization": f"Bearer {pairs[str(phone)]['access']}"}
        session.get(f"{api}/users/me/", headers=headers, timeout=30).raise_for_status()

    def login(session: requests.Session, phone: object) -> None:
        session.post(f"{api}/auth/login/", json={"phone": phone, "password": PASSWORD}, timeout=30).raise_for_status()

    def get(path: str, headers: dict[str, str]) -> Callable[[requests.Session, object], None]:
        return lambda session, _item: session.get(f"{base}{path}", headers=headers, timeout=30).raise_for_status()

    figures: dict[str, Cost] = {}
    figures["register"] = per_request(cpu, lambda: in_threads(CORES, list(phones), register))
    codes = {message["To"]: re.search(r"\b\d{6}\b", message["Body"]).group(0)  # type: ignore[union-attr]
             for message in stub.state.messages if message["To"] in tokens}
    figures["activate"] = per_request(cpu, lambda: in_threads(CORES, list(phones), activate))
    figures["first me"] = per_request(cpu, lambda: in_threads(CORES, list(phones), first_me))
    figures["login"] = per_request(cpu, lambda: in_threads(CORES, list(phones), login))
    reader = {"Authorization": f"Bearer {pairs[phones[0]]['access']}"}
    figures["me"] = per_request(cpu, lambda: in_threads(CORES, list(range(reads)), get("/api/v1/users/me/", reader)))
    figures["bare"] = per_request(cpu, lambda: in_threads(CORES, list(range(reads)), get("/bench/bare/", {})))
    steps = [figures[name] for name in ("register", "activate", "first me")]
    figures["onboarding"] = Cost(sum(step.web for step in steps), sum(step.database for step in steps))
    return figures, pairs


def peak_memory_mib(pids: list[int]) -> list[float]:
    """VmHWM (peak resident set) of each process, in MiB."""
    peaks = []
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return peaks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=20, help="seconds per phase")
    parser.add_argument("--concurrency", type=int, default=8, help="clients for the bare view and /users/me/")
    parser.add_argument("--sms-latency", type=float, default=0.0, help="seconds the stub provider takes to accept")
    parser.add_argument("--slow-latency", type=float, default=1.0, help="the provider's latency in the slow phase, s")
    parser.add_argument("--slower-latency", type=float, default=5.0, help="the provider's latency in the slower phase")
    parser.add_argument("--hang", type=float, default=10.0, help="seconds the hanging provider takes to answer (past"
                        " the backends' 7 s read timeout)")
    parser.add_argument("--sign-up-clients", type=int, default=32, help="sign-up clients in the sign-up load phases")
    parser.add_argument("--plot", metavar="PNG", help="also measure at several concurrencies and plot")
    parser.add_argument("--cpu-accounts", type=int, default=150, help="sign-ups (then activations, logins) in the"
                        " server-CPU phases; 4x as many /users/me/ and bare views")
    parser.add_argument("--cpu-only", action="store_true", help="only the raw hash and the server-CPU phases")
    parser.add_argument("--load-only", action="store_true", help="skip the bare view, register alone and the flow")
    args = parser.parse_args()

    env = production_like_env("waterbill_bench", DJANGO_SETTINGS_MODULE="bench.settings")
    hashes_per_second, hash_cpu_ms = hash_rate(env)

    accounts_file = Path(tempfile.mkdtemp()) / "accounts.json"
    with StubSmsProvider() as stub:
        stub.state.latency = args.sms_latency
        env["TWILIO_API_URL"] = env["STUB_URL"] = stub.url
        gunicorn, base = start_gunicorn(env, CORES)
        cpu = ServerCpu(gunicorn.pid, urlsplit(env["DATABASE_URL"]).path.lstrip("/"))
        try:
            locust(base, "BareUser", 2, 3, env)  # warm-up: imports, connections
            server, pairs = server_cpu(base, stub, cpu, args.cpu_accounts, 4 * args.cpu_accounts)
            if args.cpu_only:
                print_server_cpu(server, hash_cpu_ms, args.cpu_accounts)
                return 0
            made = list(pairs)
            accounts_file.write_text(json.dumps({
                "readers": [pairs[phone]["access"] for phone in made[: max(args.concurrency, 16)]],
                "logins": made[-2:],
            }))
            env["BENCH_ACCOUNTS"] = str(accounts_file)
            me = locust(base, "MeUser", args.concurrency, args.duration, env)["me"]
            if args.load_only:
                bare, register, flow = _empty(), _empty(), {}
            else:
                bare = locust(base, "BareUser", args.concurrency, args.duration, env)["bare view"]
                register = locust(base, "RegisterUser", CORES, args.duration, env)["register"]
                flow = locust(base, "OnboardingUser", CORES * 2, args.duration, env)
            login_alone = locust(base, "LoginUser", 2, args.duration, env)["login"]
            curves: dict[str, list[tuple[int, dict[str, float]]]] = {"me": [], "register": []}
            if args.plot:
                for level in (1, 2, 4, 8, 16):
                    curves["me"].append((level, locust(base, "MeUser", level, max(8, args.duration // 2), env)["me"]))
                    curves["register"].append(
                        (level, locust(base, "RegisterUser", level, max(8, args.duration // 2), env)["register"])
                    )
            # The hanging provider last: it opens the circuit breaker for what would follow.
            providers = [
                Provider(f"SMS {args.sms_latency * 1000:.0f} ms", latency=args.sms_latency),
                Provider(f"SMS {args.slow_latency * 1000:.0f} ms", latency=args.slow_latency),
                Provider(f"SMS {args.slower_latency * 1000:.0f} ms", latency=args.slower_latency),
                Provider(f"SMS hanging {args.hang:g} s", hang=args.hang),
            ]
            loaded = {
                provider.label: under_sign_up_load(
                    base, stub, provider, args.sign_up_clients, args.concurrency, args.duration, env
                )
                for provider in providers
            }
            memory = peak_memory_mib(worker_pids(gunicorn.pid))
        finally:
            gunicorn.send_signal(signal.SIGTERM)
            gunicorn.wait(timeout=30)

    print(f"WaterBill API benchmark: {CORES} cores, gunicorn {server_shape(env, CORES)}, PostgreSQL"
          f"{', Redis' if os.environ.get('REDIS_URL') else ''}, SMS stub latency {args.sms_latency * 1000:.0f} ms,"
          f" {args.duration} s per phase")
    print(f"{'endpoint (phase, clients)':<38}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}")

    def row(label: str, stats: dict[str, float]) -> None:
        print(f"{label:<38}{stats['rps']:>9.1f}{stats['p50']:>9.0f}{stats['p95']:>9.0f}{stats['p99']:>9.0f}"
              f"{stats['failures']:>8d}")

    row(f"bare Django view ({args.concurrency})", bare)
    row(f"GET /users/me/ ({args.concurrency})", me)
    row(f"register alone ({CORES})", register)
    for name in ("register", "activate", "me", "refresh", "login"):
        if name in flow:
            row(f"{name} in onboarding flow ({CORES * 2})", flow[name])
    row("login alone (2, every 0.2 s)", login_alone)
    for label, (stats, _failures) in loaded.items():
        row(f"register ({args.sign_up_clients}, {label})", stats.get("register", {}) or _empty())
        row(f"  me ({args.concurrency}) meanwhile", stats.get("me", {}) or _empty())
        row("  login (2) meanwhile", stats.get("login", {}) or _empty())
    for label, (stats, failures) in loaded.items():
        succeeded = stats.get("register", _empty())
        answers = {"register: 201": int(succeeded.get("requests", 0)) - int(succeeded["failures"]), **failures}
        print(f"answers, {label}: " + ", ".join(f"{key} x{count}" for key, count in sorted(answers.items()) if count))
    (fast, _), (slow, _) = (loaded[providers[0].label], loaded[providers[1].label])
    if "register" in fast and "register" in slow:
        print(f"ratio sign-ups/s {providers[1].label} / {providers[0].label}:"
              f" {slow['register']['rps'] / max(fast['register']['rps'], 1e-9):.2f}   (target >= 0.7)")
    for provider in providers[1:]:
        stats, _ = loaded[provider.label]
        if "me" in stats:
            ratio = stats["me"]["p99"] / max(me["p99"], 1e-9)
            print(f"ratio me p99 under sign-ups, {provider.label} / alone: {ratio:.2f}   (target <= 3)")
        if "login" in stats:
            print(f"ratio login p99 under sign-ups, {provider.label} / alone:"
                  f" {stats['login']['p99'] / max(login_alone['p99'], 1e-9):.2f}")
    print(f"password hasher, raw, {CORES} processes: {hashes_per_second:.1f} hashes/s "
          f"({1000 * CORES / hashes_per_second:.0f} ms per hash per core)")
    print(f"ratio register / hash ceiling: {register['rps'] / hashes_per_second:.2f}   (target >= 0.85)")
    print(f"ratio me / bare view:          {me['rps'] / max(bare['rps'], 1e-9):.2f}   (target >= 0.60)")
    print_server_cpu(server, hash_cpu_ms, args.cpu_accounts)
    print("peak memory per worker (VmHWM): " + ", ".join(f"{m:.0f} MiB" for m in memory))
    print(f"p99 under load: activate {flow.get('activate', {}).get('p99', float('nan')):.0f} ms (onboarding flow), "
          f"me {me['p99']:.0f} ms")
    if args.plot:
        plot(args.plot, curves, bare["rps"], hashes_per_second)
        print(f"plot written to {args.plot}")
    return 0


def print_server_cpu(costs: dict[str, Cost], hash_ms: float, accounts: int) -> None:
    """The server-CPU figures and their targets (issue 10), a raw hash being the unit."""
    print(f"server CPU per request (gunicorn + PostgreSQL backends; {accounts} accounts, {CORES} clients):")
    print(f"  {'':<30}{'total ms':>9}{'gunicorn':>10}{'postgres':>10}")
    server = {name: cost.total for name, cost in costs.items()}
    rows = [
        ("bare Django view", server["bare"], ""),
        ("GET /users/me/", server["me"], f"{server['me'] / server['bare']:.2f} x the bare view   (target <= 1.5)"),
        ("register", server["register"], f"{server['register'] / hash_ms:.2f} hashes"),
        ("activate (sign-up token)", server["activate"], "(target <= 4 ms)"),
        ("first GET /users/me/", server["first me"], ""),
        ("onboarding: the three above", server["onboarding"],
         f"{server['onboarding'] / hash_ms:.2f} hashes   (target <= 1.4)"),
        ("login", server["login"], f"{server['login'] / hash_ms:.2f} hashes   (target <= 1.1)"),
        ("a raw hash (alone, CPU)", hash_ms, ""),
    ]
    names = ["bare", "me", "register", "activate", "first me", "onboarding", "login"]
    for (label, ms, note), name in zip(rows, [*names, None], strict=True):
        split = f"{costs[name].web:>10.2f}{costs[name].database:>10.2f}" if name else " " * 20
        print(f"  {label:<30}{ms:>9.2f}{split}   {note}")


def _empty() -> dict[str, float]:
    return {"rps": 0.0, "p50": 0.0, "p95": 0.0, "p99": 0.0, "requests": 0, "failures": 0}


def plot(path: str, curves: dict[str, list[tuple[int, dict[str, float]]]], bare_rps: float, hash_rps: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (throughput, latency) = plt.subplots(1, 2, figsize=(11, 4))
    for name, points in curves.items():
        levels = [level for level, _ in points]
        throughput.plot(levels, [s["rps"] for _, s in points], marker="o", label=name)
        latency.plot(levels, [s["p99"] for _, s in points], marker="o", label=f"{name} p99")
        latency.plot(levels, [s["p50"] for _, s in points], marker=".", linestyle="--", label=f"{name} p50")
    throughput.axhline(bare_rps, color="grey", linestyle=":", label="bare view")
    throughput.axhline(hash_rps, color="red", linestyle=":", label="hash ceiling")
    throughput.set(xlabel="concurrent clients", ylabel="requests/s", xscale="log", yscale="log", title="Throughput")
    latency.set(xlabel="concurrent clients", ylabel="ms", xscale="log", yscale="log", title="Latency")
    throughput.legend()
    latency.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    sys.exit(main())
