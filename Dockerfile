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
VOLUME /data
EXPOSE 8000
CMD ["gunicorn", "-c", "python:web.gunicorn_conf", "web:create_app()"]
