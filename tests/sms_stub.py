"""A local stand-in for Twilio's Messages API, for tests and by hand, that can accept, fail, reset, reject or hang.

By hand (then point TWILIO_API_URL at it):
    python -m tests.sms_stub --port 8025 --mode accept
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import struct
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

MODES = ("accept", "fail", "throttle", "reset", "reject", "hang", "chaos")
# What "chaos" mode does, by weight: mostly accept, and every kind of failure now and then.
DEFAULT_MIX = {"accept": 70, "fail": 8, "throttle": 4, "reset": 7, "reject": 5, "hang": 6}


@dataclass
class StubState:
    """What the stub does with the next request, and what it accepted so far."""

    mode: str = "accept"
    hang_seconds: float = 2.0
    latency: float = 0.0  # seconds before each "accept" answer (benchmarks)
    reject_code: int = 21211
    messages: list[dict[str, str]] = field(default_factory=list)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    mix: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_MIX))
    random: random.Random = field(default_factory=lambda: random.Random(20261129))
    outcomes: Counter[str] = field(default_factory=Counter)

    def next_mode(self) -> str:
        """The mode for the next request (drawn from `mix` in chaos mode). Call with `lock` held."""
        if self.mode != "chaos":
            return self.mode
        return self.random.choices(list(self.mix), weights=list(self.mix.values()))[0]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, as Twilio offers

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        if self.server.verbose:
            super().log_message(format, *args)

    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        """`GET /_stub/last?to=+237...`: the last accepted message to that number (load tests read codes here)."""
        url = urlsplit(self.path)
        to = parse_qs(url.query).get("to", [""])[0]
        with self.server.state.lock:
            found = [m for m in self.server.state.messages if m.get("To") == to and not m.get("late")]
        if url.path != "/_stub/last" or not found:
            self._reply(404, {"message": "no message"})
        else:
            self._reply(200, {"to": to, "body": found[-1].get("Body", "")})

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        state = self.server.state
        form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())
        with state.lock:
            state.requests += 1
            mode = state.next_mode()
            state.outcomes[mode] += 1
        if not self.path.endswith("/Messages.json") or not self.headers.get("Authorization", "").startswith("Basic "):
            self._reply(404 if "Messages" not in self.path else 401, {"code": 20404, "message": "not found"})
        elif mode == "accept":
            if state.latency:
                time.sleep(state.latency)
            message = {key: values[0] for key, values in form.items()}
            with state.lock:
                state.messages.append(message)
                sid = f"SM{len(state.messages):032d}"
            if self.server.verbose:
                print(f"[stub] SMS to {message.get('To')}: {message.get('Body')}", flush=True)
            self._reply(201, {"sid": sid, "status": "queued", "to": message.get("To")})
        elif mode == "fail":
            self._reply(500, {"code": 20500, "message": "Internal Server Error", "status": 500})
        elif mode == "throttle":
            self._reply(429, {"code": 20429, "message": "Too Many Requests", "status": 429})
        elif mode == "reject":
            self._reply(400, {"code": state.reject_code, "message": "The 'To' number is not valid.", "status": 400})
        elif mode == "reset":
            # Abort the connection: SO_LINGER 0 makes close() send a TCP RST instead of a FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
        elif mode == "hang":
            # Twilio queued the message but answers too late: the client gives up, the SMS still leaves.
            with state.lock:
                state.messages.append({**{key: values[0] for key, values in form.items()}, "late": "1"})
            time.sleep(state.hang_seconds)
            self._reply(201, {"sid": "SMlate", "status": "queued"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that gave up (read timeout) while a "hang" slept is expected: no traceback for it."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def __init__(self, address: tuple[str, int], state: StubState, verbose: bool) -> None:
        super().__init__(address, _Handler)
        self.state = state
        self.verbose = verbose


class StubSmsProvider:
    """A Twilio-like server on 127.0.0.1 in a background thread; use as a context manager.

    `url` is the base URL for TWILIO_API_URL; set `state.mode` to one of MODES at any time.
    """

    def __init__(self, port: int = 0, *, host: str = "127.0.0.1", verbose: bool = False) -> None:
        self.state = StubState()
        self._server = _Server((host, port), self.state, verbose)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        """The base URL, e.g. http://127.0.0.1:8025."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> StubSmsProvider:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()


def main() -> None:
    """Serve until interrupted, printing each accepted SMS."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 in a container)")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--mode", choices=MODES, default="accept")
    parser.add_argument("--hang-seconds", type=float, default=30.0)
    args = parser.parse_args()
    with StubSmsProvider(args.port, host=args.host, verbose=True) as stub:
        stub.state.mode = args.mode
        stub.state.hang_seconds = args.hang_seconds
        print(f"Stub SMS provider ({args.mode}) on {stub.url}: set TWILIO_API_URL={stub.url}", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
