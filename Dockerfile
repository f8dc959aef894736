# watcher: feed alerting daemon. State in the /app/state volume; rules in /app/rules (mount yours).
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WATCHER_RULES=/app/rules \
    WATCHER_DB=/app/state/watcher.db

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

# the daemon drains polls in flight and exits on SIGTERM
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["watcher", "health"]

ENTRYPOINT ["watcher"]
CMD ["run"]
