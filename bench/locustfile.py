"""Locust users for bench/benchmark.py: sign-up, the onboarding flow, GET /users/me/, login, a bare view.

Needs STUB_URL (the stub SMS provider, to read activation codes) in the environment.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import time
from pathlib import Path

from locust import FastHttpUser, constant, task

STUB_URL = os.environ.get("STUB_URL", "")
# Accounts made before a phase (bench/benchmark.py): readers and login probes take one each instead of signing up
# in on_start, so they work while the provider hangs, and no set-up sign-up falls inside a measured phase.
ACCOUNTS: dict[str, list[str]] = (
    json.loads(Path(os.environ["BENCH_ACCOUNTS"]).read_text()) if os.environ.get("BENCH_ACCOUNTS") else {}
)
_taken = itertools.count()


def made_account(kind: str) -> str | None:
    """The next unused account made before the phase: an access token ("readers") or a phone ("logins")."""
    pool = ACCOUNTS.get(kind, [])
    index = next(_taken)
    return pool[index % len(pool)] if pool else None
PASSWORD = "Bench-Eau-potable-2026"  # noqa: S105 -- the throwaway bench accounts' password
_numbers = itertools.count(random.Random().randrange(0, 9_000_000))


def new_phone() -> str:
    return f"+23767{next(_numbers) % 10_000_000:07d}"


def answer_code(response: object) -> str:
    """The `code` of an error answer (`{detail, code}`), else its first 60 characters: how failures are tallied."""
    try:
        return str(response.json()["code"])  # type: ignore[attr-defined]
    except (ValueError, KeyError, TypeError):
        return response.text[:60]  # type: ignore[attr-defined]


class ApiUser(FastHttpUser):
    """FastHttpUser (geventhttpclient): several times less CPU per request than HttpUser (requests), and the load
    generator shares the server's cores."""

    abstract = True
    wait_time = constant(0)

    def sign_up(self, name: str = "register") -> tuple[str, str] | None:
        """Register a new number; returns (phone, signup_token). `name` is the request's name in the stats: the
        set-up sign-ups of readers are named apart, so that they never stand for a phase's sign-ups."""
        phone = new_phone()
        body = {
            "phone": phone,
            "first_name": "Bench",
            "last_name": "Mark",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
        }
        for _attempt in range(10 if name != "register" else 1):
            with self.client.post("/api/v1/auth/register/", json=body, name=name, catch_response=True) as response:
                if response.status_code == 201:
                    return phone, response.json()["signup_token"]
                response.failure(f"{response.status_code} {answer_code(response)}")
                if response.status_code != 503:
                    return None
            # A set-up sign-up shed by the server (503 sms_busy) retries after Retry-After, as the app would.
            time.sleep(float(response.headers.get("Retry-After", "1")))
        return None

    def activate(self, phone: str, signup_token: str, name: str = "activate") -> dict[str, str] | None:
        import requests

        sms = requests.get(f"{STUB_URL}/_stub/last", params={"to": phone}, timeout=10).json()
        code = re.search(r"\b\d{6}\b", sms["body"]).group(0)
        body = {"phone": phone, "code": code, "signup_token": signup_token}
        with self.client.post("/api/v1/auth/activate/", json=body, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} {response.text[:100]}")
                return None
            return response.json()


class RegisterUser(ApiUser):
    """Only sign-ups: the hash-bound endpoint."""

    @task
    def register(self) -> None:
        self.sign_up()


class OnboardingUser(ApiUser):
    """The realistic flow: sign up, activate, read the account, refresh, later log in again."""

    @task
    def onboard(self) -> None:
        signed_up = self.sign_up()
        if not signed_up:
            return
        pair = self.activate(*signed_up)
        if not pair:
            return
        headers = {"Authorization": f"Bearer {pair['access']}"}
        self.client.get("/api/v1/users/me/", headers=headers, name="me")
        refreshed = self.client.post("/api/v1/auth/token/refresh/", json={"refresh": pair["refresh"]}, name="refresh")
        if refreshed.status_code == 200:
            headers = {"Authorization": f"Bearer {refreshed.json()['access']}"}
        self.client.get("/api/v1/users/me/", headers=headers, name="me")
        self.client.post("/api/v1/auth/login/", json={"phone": signed_up[0], "password": PASSWORD}, name="login")


class MeUser(ApiUser):
    """An active user reading its account again and again (one sign-up per simulated user, at start)."""

    def on_start(self) -> None:
        access = made_account("readers")
        if access is None:
            signed_up = self.sign_up(name="register (set-up)")
            pair = self.activate(*signed_up, name="activate (set-up)") if signed_up else None
            access = pair["access"] if pair else ""
        self.headers = {"Authorization": f"Bearer {access}"}

    @task
    def me(self) -> None:
        self.client.get("/api/v1/users/me/", headers=self.headers, name="me")


class LoginUser(ApiUser):
    """An active user logging in every 0.2 s (one sign-up per simulated user, at start): a latency probe."""

    wait_time = constant(0.2)

    def on_start(self) -> None:
        phone = made_account("logins")
        if phone is None:
            signed_up = self.sign_up(name="register (set-up)")
            phone = signed_up[0] if signed_up and self.activate(*signed_up, name="activate (set-up)") else ""
        self.phone = phone

    @task
    def login(self) -> None:
        self.client.post("/api/v1/auth/login/", json={"phone": self.phone, "password": PASSWORD}, name="login")


class BareUser(ApiUser):
    """The bare Django view: the ceiling for cheap endpoints."""

    @task
    def bare(self) -> None:
        self.client.get("/bench/bare/", name="bare view")
