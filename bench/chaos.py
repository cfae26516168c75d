"""Chaos run: gunicorn on PostgreSQL, a misbehaving SMS provider, concurrent sign-ups, one worker SIGKILLed.

    python -m bench.chaos                 # 400 sign-ups, 24 clients, 4 workers
    python -m bench.chaos --short         # the CI variant: 120 sign-ups

It starts a local Twilio-like stub that fails at random (500s, 429s, connection resets, rejected numbers,
answers too late), gunicorn with the Twilio backend pointed at it, and concurrent clients signing up
(some numbers twice at once). Part-way through, one gunicorn worker is killed with SIGKILL. At the end it
prints the counts and checks, on the database: the sign-up invariants (`manage.py check_invariants`), that
every user's number received an SMS, that every 201 left a user, and that no request got a 500.
Exit status 0 only if all of that holds. Needs PostgreSQL (DATABASE_URL's server; the database named there
is dropped and re-created) and uses Redis when REDIS_URL is set.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests

from bench.server import ROOT, production_like_env, server_shape, start_gunicorn, worker_pids
from tests.sms_stub import StubSmsProvider

PASSWORD = "Chaos-Eau-2026!"  # noqa: S105 -- the throwaway test accounts' password on a disposable database


def database_report(env: dict[str, str], delivered: list[tuple[str, str]]) -> tuple[set[str], int, int, set[str]]:
    """Users, pending users, codes, and the users whose newest code is in no SMS the API saw accepted."""
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "waterbill.settings"
    import re

    import django

    django.setup()
    from users.models import ActivationToken, User

    sent = {
        (phone, ActivationToken.hash_code(code))
        for phone, body in delivered
        for code in re.findall(r"\b\d{6}\b", body)
    }
    users = set(User.objects.values_list("phone", flat=True))
    newest = {}
    for phone, code_hash in ActivationToken.objects.order_by("created_at").values_list("user__phone", "code_hash"):
        newest[phone] = code_hash
    without_sms = {phone for phone in users if (phone, newest.get(phone)) not in sent}
    return users, User.objects.filter(is_active=False).count(), ActivationToken.objects.count(), without_sms


def error_code(response: requests.Response) -> str:
    """The stable code of an error answer (`{detail, code}` or the first field error), "" otherwise."""
    if response.status_code < 400 or not response.headers.get("Content-Type", "").startswith("application/json"):
        return ""
    body = response.json()
    if isinstance(body.get("code"), str):
        return body["code"]
    return next(iter(body.values()))[0]["code"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=400, help="sign-ups to attempt")
    parser.add_argument("--clients", type=int, default=24, help="concurrent clients")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--hang-seconds", type=float, default=8.0, help="how long a 'hang' lasts (bound: 7 s read)")
    parser.add_argument("--short", action="store_true", help="CI variant: 120 sign-ups, 16 clients, 3 workers")
    parser.add_argument("--seed", type=int, default=20261129)
    args = parser.parse_args()
    if args.short:
        args.requests, args.clients, args.workers = 120, 16, 3

    env = production_like_env("waterbill_chaos")
    python = sys.executable

    rng = random.Random(args.seed)
    with StubSmsProvider() as stub:
        stub.state.mode = "chaos"
        stub.state.hang_seconds = args.hang_seconds
        stub.state.random.seed(args.seed)
        env["TWILIO_API_URL"] = stub.url
        gunicorn, base = start_gunicorn(env, args.workers, log=open(ROOT / "bench" / "chaos-gunicorn.log", "w"))
        try:
            # Distinct numbers, a fifth of them signed up twice at the same moment.
            phones = [f"+23767{n:07d}" for n in rng.sample(range(10_000_000), args.requests)]
            plan = [p for p in phones for _ in range(2 if rng.random() < 0.2 else 1)][: args.requests]
            rng.shuffle(plan)
            results: Counter[str] = Counter()
            created: set[str] = set()
            lock = threading.Lock()
            done = [0]
            killed: list[int] = []

            def sign_up(phone: str) -> None:
                body = {"phone": phone, "first_name": "Chaos", "last_name": "Monkey",
                        "password": PASSWORD, "password_confirm": PASSWORD}
                try:
                    response = requests.post(f"{base}/api/v1/auth/register/", json=body, timeout=40)
                    outcome = f"{response.status_code} {error_code(response)}".strip()
                except requests.RequestException as exc:
                    outcome = f"connection error ({type(exc).__name__})"
                    response = None
                with lock:
                    results[outcome] += 1
                    if response is not None and response.status_code == 201:
                        created.add(phone)
                    done[0] += 1
                    if done[0] == int(len(plan) * 0.4) and not killed:
                        victims = worker_pids(gunicorn.pid)
                        if victims:
                            victim = rng.choice(victims)
                            os.kill(victim, signal.SIGKILL)
                            killed.append(victim)

            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=args.clients) as pool:
                list(pool.map(sign_up, plan))
            elapsed = time.monotonic() - started
        finally:
            gunicorn.send_signal(signal.SIGTERM)
            gunicorn.wait(timeout=30)

        # The provider's answer reached the API only for these: "late" ones belong to rolled-back sign-ups.
        delivered = [(m["To"], m["Body"]) for m in stub.state.messages if not m.get("late")]
        late = sum(1 for m in stub.state.messages if m.get("late"))
        provider = dict(stub.state.outcomes)

    check = subprocess.run([python, "manage.py", "check_invariants"], cwd=ROOT, env=env, capture_output=True, text=True)
    users, pending, tokens, users_without_sms = database_report(env, delivered)
    server_errors = sum(
        n for outcome, n in results.items() if outcome.startswith("5") and not outcome.startswith("503")
    )
    created_but_missing = created - users
    print(f"Chaos run: {len(plan)} sign-ups ({len(plan) - len(set(plan))} numbers twice at once), "
          f"{args.clients} clients, gunicorn {server_shape(env, args.workers)}, {elapsed:.1f} s")
    print(f"  worker killed with SIGKILL: {killed[0] if killed else 'none found'} (after 40% of the requests)")
    print(f"  provider answers: {', '.join(f'{k} {v}' for k, v in sorted(provider.items()))}")
    print(f"  SMS sent (accepted by the provider): {len(delivered) + late}, of which too late for the API: {late}")
    print("  API answers: " + ", ".join(f"{outcome}: {n}" for outcome, n in sorted(results.items())))
    print(f"  201s: {sum(n for o, n in results.items() if o.startswith('201'))}   4xx: "
          f"{sum(n for o, n in results.items() if o.startswith('4'))}   503s: "
          f"{sum(n for o, n in results.items() if o.startswith('503'))}   500s: {server_errors}")
    print(f"  database: {len(users)} users ({pending} pending), {tokens} codes")
    print(f"  users whose newest code is in no accepted SMS: {len(users_without_sms)}   "
          f"201s without a user: {len(created_but_missing)}")
    print("  invariants:\n" + "\n".join("    " + line for line in (check.stdout + check.stderr).rstrip().splitlines()))
    ok = check.returncode == 0 and not server_errors and not users_without_sms and not created_but_missing and killed
    print("CHAOS RUN PASSED" if ok else "CHAOS RUN FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
