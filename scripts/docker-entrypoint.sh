#!/bin/sh
# Container entry point: apply migrations (unless DJANGO_MIGRATE_ON_START=0), then run the command.
set -eu
if [ "${DJANGO_MIGRATE_ON_START:-1}" != "0" ]; then
    python manage.py migrate --noinput
fi
exec "$@"
