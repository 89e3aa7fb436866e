FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# The spool directory exists in the image, the app user's and private to it, so that a fresh named volume
# mounted there (docker-compose.yml's web-spool) starts with that owner and mode.
RUN useradd --create-home app \
    && install -d -o app -g app instance \
    && install -d -o app -g app -m 0700 instance/spool
USER app

EXPOSE 8000
CMD ["gunicorn", "wsgi:app"]
