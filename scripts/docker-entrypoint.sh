#!/bin/sh
# Container entry point: refuse to start on a configuration `check --deploy` warns about (a development SMS
# backend, a per-process cache...), apply migrations (unless DJANGO_MIGRATE_ON_START=0), then run the command.
set -eu
python manage.py check --deploy --fail-level WARNING
if [ "${DJANGO_MIGRATE_ON_START:-1}" != "0" ]; then
    python manage.py migrate --noinput
fi
exec "$@"
