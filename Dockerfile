# Production image: gunicorn serving WaterBill API as an unprivileged user, behind a TLS-terminating proxy.
# Build: docker build -t waterbill-api .
# Run:   docker run -p 8000:8000 -e DJANGO_SECRET_KEY=... -e DJANGO_ALLOWED_HOSTS=api.example.com \
#          -e DATABASE_URL=postgres://... -e CACHE_URL=redis://... -e DJANGO_NUM_PROXIES=1 \
#          -e SMS_BACKEND=sms.backends.twilio.SmsBackend -e TWILIO_ACCOUNT_SID=... -e TWILIO_AUTH_TOKEN=... \
#          -e TWILIO_FROM_NUMBER=... waterbill-api
# The entry point runs `check --deploy` first and refuses to start on a warning (no shared cache, a
# development SMS backend...). Port 8000 is for the proxy, which must set X-Forwarded-Proto and
# X-Forwarded-For (DJANGO_NUM_PROXIES counts the proxies), not for the internet.
FROM python:3.11-slim-bookworm

# MALLOC_ARENA_MAX=2: glibc gives each of gunicorn's 24 threads its own malloc arena and keeps the freed Argon2
# buffers (19 MiB a hash) in them; two arenas took a worker's peak from ~490 to ~165 MiB (docs/performance.md).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MALLOC_ARENA_MAX=2 \
    WEB_CONCURRENCY=2 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so code changes do not reinstall them (psycopg[binary] ships its own libpq).
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY . .

# Static files (admin, API docs) collected at build time and served by WhiteNoise. The settings refuse
# to load without a secret key and an SMS backend, so this step gets a throw-away random key (not kept in
# the image) and the console backend (unused here).
RUN DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    SMS_BACKEND=sms.backends.console.SmsBackend \
    python manage.py collectstatic --noinput \
 && useradd --system --uid 10001 --no-create-home --home-dir /app --shell /usr/sbin/nologin waterbill \
 && mkdir -p /app/data && chown waterbill /app/data \
 && chmod +x scripts/docker-entrypoint.sh

USER waterbill
EXPOSE 8000

# Migrations run on start (scripts/docker-entrypoint.sh; DJANGO_MIGRATE_ON_START=0 when a release step runs
# them instead), then gunicorn with gunicorn.conf.py, the one server configuration (the benchmark and the chaos
# run use it too). A sign-up holds its worker thread (and its database connection) through the SMS call, so
# each worker runs many threads (GUNICORN_THREADS, default 24): waiting on a provider is cheap for a thread,
# and a slow provider does not stall logins. WEB_CONCURRENCY sets the worker processes (2 here: set it to the
# container's cores); the other GUNICORN_* variables are in docs/operations.md ("Server configuration"), and
# GUNICORN_CMD_ARGS still adds any other option.
ENTRYPOINT ["/app/scripts/docker-entrypoint.sh"]
CMD ["gunicorn", "-c", "gunicorn.conf.py", "waterbill.wsgi:application"]
