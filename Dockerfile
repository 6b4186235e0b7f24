# Production image: gunicorn serving web:create_app() over the data folder mounted at /data.
FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md ./
COPY search ./search
COPY web ./web
COPY demo ./demo
RUN pip install --no-cache-dir . \
    && useradd --system --home-dir /data news \
    && mkdir -p /data && chown news /data
USER news

ENV SEARCH_INDEX_DIR=/data
# Where the workers keep their request counts for /metrics; emptied at each start.
ENV PROMETHEUS_MULTIPROC_DIR=/tmp/search-metrics
VOLUME /data
EXPOSE 8000
CMD ["sh", "-c", "rm -rf \"$PROMETHEUS_MULTIPROC_DIR\" && mkdir -p \"$PROMETHEUS_MULTIPROC_DIR\" && exec gunicorn --bind 0.0.0.0:8000 --workers 2 --access-logfile - 'web:create_app()'"]
