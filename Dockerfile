# watcher: feed alerting daemon. State in the /app/state volume; rules in /app/rules (mount yours).
#   docker build -t watcher .
#   docker run -d -v watcher-state:/app/state -v "$PWD/rules:/app/rules:ro" -p 127.0.0.1:8080:8080 \
#       --env-file .env watcher
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WATCHER_RULES=/app/rules \
    WATCHER_DB=/app/state/watcher.db \
    WATCHER_HTTP=0.0.0.0:8080

WORKDIR /app
RUN useradd --create-home --uid 10001 --user-group watcher

# dependencies first, so a code change does not reinstall them
COPY pyproject.toml README.md ./
COPY watcher ./watcher
RUN pip install --no-cache-dir . && rm -rf /root/.cache

COPY rules ./rules
RUN mkdir -p /app/state && chown watcher:watcher /app/state

USER watcher
VOLUME ["/app/state"]
# the status page, JSON API, /metrics, /healthz and /readyz (publish it on the host's loopback:
# -p 127.0.0.1:8080:8080; inside the container it listens on all interfaces to be reachable)
EXPOSE 8080

# the daemon drains polls in flight and exits on SIGTERM
STOPSIGNAL SIGTERM
# `watcher health` asks the daemon's own /healthz (alive: its event loop turns)
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["watcher", "health"]

ENTRYPOINT ["watcher"]
CMD ["run"]
