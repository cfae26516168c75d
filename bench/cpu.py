"""Server-side CPU per request: utime + stime of gunicorn's processes and of the database's PostgreSQL backends.

The load generator shares the machine's cores with the server, so requests per second depend on how much CPU
the client steals; the CPU the server spends per request does not. Read from /proc (Linux), in clock ticks.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import requests

TICK = 1 / os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (so fields[0] is the state); None if it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _cpu_of(fields: list[str], *, with_reaped_children: bool = False) -> float:
    # utime, stime are fields 14 and 15 of stat (1-based); cutime, cstime 16 and 17: after the command name,
    # indexes 11-14. A process's reaped children (gunicorn workers that exited) count in its cutime/cstime.
    ticks = int(fields[11]) + int(fields[12])
    if with_reaped_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks * TICK


def _pids() -> Iterable[int]:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            yield int(entry.name)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@dataclass
class ServerCpu:
    """CPU seconds used so far by the gunicorn master `master` and its workers, and by the PostgreSQL backends
    connected to `database` (a backend's process title names its database: "postgres: USER DATABASE ...").

    Backends born between two readings count from zero, which is right: all their CPU falls in between. One
    that exits in between loses what it used since the last reading; the pool keeps its connections open, so
    this does not happen during a phase.
    """

    master: int
    database: str

    def seconds(self) -> tuple[float, float]:
        """(gunicorn, PostgreSQL) CPU seconds so far."""
        web = database = 0.0
        marker = f" {self.database} "
        for pid in _pids():
            fields = _stat(pid)
            if fields is None:
                continue
            if pid == self.master:
                web += _cpu_of(fields, with_reaped_children=True)
            elif int(fields[1]) == self.master:
                web += _cpu_of(fields)
            elif (title := _cmdline(pid)).startswith("postgres: ") and marker in title:
                database += _cpu_of(fields)
        return web, database


@dataclass
class Cost:
    """Server CPU milliseconds per request: in gunicorn, in PostgreSQL, and both."""

    web: float
    database: float

    @property
    def total(self) -> float:
        return self.web + self.database


def per_request(cpu: ServerCpu, run: Callable[[], int]) -> Cost:
    """Run `run` (which answers how many requests it made); the server's CPU per request."""
    web, database = cpu.seconds()
    requests_made = max(run(), 1)
    # Let the last answers' bookkeeping (the logging, a pool return) land in the reading.
    time.sleep(0.2)
    web_after, database_after = cpu.seconds()
    return Cost((web_after - web) * 1000 / requests_made, (database_after - database) * 1000 / requests_made)


def in_threads(clients: int, items: list[object], work: Callable[[requests.Session, object], None]) -> int:
    """`work(session, item)` for every item, spread over `clients` threads, each with its own keep-alive
    session (as an app keeps its connection). Returns the number of items."""
    lock = threading.Lock()
    queue = list(reversed(items))

    def loop() -> None:
        with requests.Session() as session:
            while True:
                with lock:
                    if not queue:
                        return
                    item = queue.pop()
                work(session, item)

    threads = [threading.Thread(target=loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(items)
