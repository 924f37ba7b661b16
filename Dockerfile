# One image for web, worker and beat (docker-compose.yml chooses the command).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# WeasyPrint needs Pango; Chromium renders Plotly charts for the QBR PDF; poppler-utils checks PDFs.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core fonts-liberation \
      chromium poppler-utils \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 portal
WORKDIR /app

COPY requirements.lock ./
RUN pip install -r requirements.lock

COPY --chown=portal:portal . .
# collectstatic needs settings to load, not real services or secrets.
RUN DJANGO_ENV=production DJANGO_SECRET_KEY=collectstatic-only-not-a-real-secret-000000000000000 \
    DATABASE_URL=postgres://unused@localhost/unused REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput \
 && mkdir -p /data/media && chown -R portal:portal /data /app/staticfiles

USER portal
EXPOSE 8000
# Workers, timeouts and logging: gunicorn.conf.py (one sync worker per core; WEB_CONCURRENCY overrides).
CMD ["gunicorn", "-c", "gunicorn.conf.py", "msp_portal.wsgi:application"]
