"""Screenshots of the main admin pages (docs/admin/*.png) with headless Chromium, on throwaway demo data.

Run `.venv/bin/python scripts/admin_screenshots.py [--out docs/admin] [--language fr] [--width 1280]` (needs
Debian's `chromium`). It migrates a fresh SQLite database in a temporary directory, fills it with demo
accounts, codes, a locked number and SMS (accepted, delivered, failed), and serves the project in this
process on 127.0.0.1 (so the per-process cache that holds the locks is the one the pages read). Every
request but the login page's carries the demo agent's session cookie and the chosen Accept-Language.
Nothing outside the temporary directory and `--out` is touched.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

ROOT = Path(__file__).resolve().parent.parent
AGENT_PHONE = "+237699000000"

#: (file name, path, height in px or None for --height): every page but the login page is seen logged in.
PAGES = [
    ("login.png", "/admin/login/?next=/admin/", 600),
    ("users.png", "/admin/users/user/", None),
    ("user.png", "/admin/users/user/{locked_pk}/change/", 1500),  # the whole page, permissions folded
    ("sms.png", "/admin/users/smsrecord/", None),
]


def configure(tmp: Path) -> None:
    """Point Django at a throwaway database, before it is set up."""
    os.environ.update(
        DJANGO_SETTINGS_MODULE="waterbill.settings",
        DJANGO_DEBUG="1",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DATABASE_URL=f"sqlite:///{tmp / 'demo.sqlite3'}",
        SMS_BACKEND="sms.backends.locmem.SmsBackend",
    )
    os.environ.pop("CACHE_URL", None)  # the locks must live in this process's cache
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def demo_data() -> dict[str, Any]:
    """Accounts as a support desk meets them; returns the agent's session cookie and the locked user's pk."""
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone

    from users.models import ActivationToken, SmsRecord, User, VerificationCode
    from users.services.limits import LOGIN

    call_command("migrate", verbosity=0)
    logging.disable(logging.WARNING)  # the demo's own refused guesses are not news
    now = timezone.now()
    agent = User.objects.create_superuser(AGENT_PHONE, secrets.token_urlsafe(16), first_name="Guichet")
    people = [
        ("+237670000101", "Awa", "Ngono", "fr", "active"),
        ("+237670000102", "Jean-Paul", "Mbarga", "fr", "active"),
        ("+237670000103", "Bih", "Fon", "en", "pending"),
        ("+237670000104", "Aïcha", "Bello", "fr", "locked"),
        ("+237670000105", "Emmanuel", "Tchoumi", "fr", "disabled"),
        ("+237670000106", "Grace", "Ndiba", "en", "active"),
        ("+237670000107", "Marie-Claire", "Essomba", "fr", "pending"),
        ("+237670000108", "Samuel", "Eto'o", "fr", "active"),
    ]
    users = {}
    for n, (phone, first, last, language, state) in enumerate(people):
        joined = now - timedelta(days=20 - 2 * n, hours=n)
        active = state in ("active", "locked")
        user = User.objects.create_user(
            phone,
            secrets.token_urlsafe(16),
            first_name=first,
            last_name=last,
            language=language,
            is_active=active,
            date_joined=joined,
            activated_at=joined + timedelta(minutes=3) if active else None,
        )
        if state == "disabled":
            User.objects.filter(pk=user.pk).update(activated_at=joined, disabled_at=now - timedelta(days=1))
        if state == "pending":
            ActivationToken.create_token(user, now=now - timedelta(minutes=30 + n))
            ActivationToken.create_token(user, now=now - timedelta(minutes=5 + n))
        users[state] = user
    locked = users["locked"]
    ActivationToken.create_token(locked, now=locked.date_joined)
    ActivationToken.objects.filter(user=locked).update(used_at=locked.date_joined + timedelta(minutes=3))
    VerificationCode.objects.create(
        user=locked,
        purpose=VerificationCode.Purpose.PASSWORD_RESET,
        phone=locked.phone,
        code_hash="demo",
        created_at=now - timedelta(minutes=40),
        expires_at=now - timedelta(minutes=30),
        attempts=2,
    )
    for n in range(50):  # a stranger's wrong passwords, five from each of ten addresses: the number's allowance
        LOGIN.count(locked.phone, f"10.0.0.{n // 5}", now)
    for n, (phone, purpose, status, provider, code) in enumerate(
        [
            ("+237670000101", "activation", "delivered", "twilio", ""),
            ("+237670000103", "activation", "sms_unavailable", "twilio", "20500"),
            ("+237670000102", "password_reset", "accepted", "africastalking", ""),
            ("+237670000107", "activation", "phone_rejected", "twilio", "21614"),
            ("+237670000105", "activation", "undelivered", "orange", "DeliveryImpossible"),
            ("+237670000104", "password_reset", "sms_unavailable", "orange", "timeout"),
            ("+237690000109", "activation", "sms_unavailable", "", ""),
        ]
    ):
        SmsRecord.objects.create(
            phone=phone, purpose=purpose, language="fr", provider=provider, status=status, provider_code=code,
            provider_message_id=f"demo-{n}" if status not in ("sms_unavailable", "phone_rejected") else "",
            segments=0 if status in ("sms_unavailable", "phone_rejected") else 1,
            created_at=now - timedelta(hours=n), updated_at=now - timedelta(hours=n),
        )
    client = Client()
    client.force_login(agent)
    return {"cookie": f"sessionid={client.cookies['sessionid'].value}", "locked_pk": locked.pk}


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # the base class's signature
        pass


def serve(cookie: str, language: str) -> tuple[_Server, str]:
    """Serve the project (static files included) on a free port; returns the server and its base URL."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.wsgi import get_wsgi_application

    app = StaticFilesHandler(get_wsgi_application())

    def as_agent(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        environ["HTTP_ACCEPT_LANGUAGE"] = language
        if not environ["PATH_INFO"].startswith("/admin/login/"):
            environ["HTTP_COOKIE"] = cookie
        return app(environ, start_response)

    server = make_server("127.0.0.1", 0, as_agent, server_class=_Server, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def shoot(url: str, out: Path, width: int, height: int, tmp: Path) -> None:
    """One screenshot of `url` into `out` with headless Chromium."""
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("chromium not found: apt-get install -y chromium")
    subprocess.run(  # noqa: S603  # fixed arguments, a local URL
        [
            chromium,
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--hide-scrollbars",
            f"--user-data-dir={tmp / 'chromium'}",
            f"--window-size={width},{height}",
            f"--screenshot={out}",
            url,
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    print(f"{out}  <-  {url}")  # noqa: T201


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "admin")
    parser.add_argument("--language", default="fr", help="the browser's Accept-Language (fr, en)")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=900)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="waterbill-screenshots-") as name:
        tmp = Path(name)
        configure(tmp)
        data = demo_data()
        server, base = serve(data["cookie"], args.language)
        try:
            for file_name, path, height in PAGES:
                shoot(base + path.format(**data), args.out / file_name, args.width, height or args.height, tmp)
        finally:
            server.shutdown()


if __name__ == "__main__":
    main()
