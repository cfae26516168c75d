"""gunicorn's one configuration (Dockerfile, docker-compose, bench/): every value from waterbill.server."""

import sys
from pathlib import Path

# gunicorn reads this file before it imports the application: make the project importable from any cwd.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from waterbill.server import ServerConfig  # noqa: E402

_config = ServerConfig.from_environ()

bind = _config.bind
workers = _config.workers
worker_class = _config.worker_class
threads = _config.threads
timeout = _config.timeout
graceful_timeout = _config.graceful_timeout
keepalive = _config.keepalive
accesslog = _config.accesslog
access_log_format = _config.access_log_format
loglevel = _config.loglevel
