#!/bin/sh
# The API in a container: the uvicorn command of scripts/services.py, on all interfaces.
# GUICHET_API_WORKERS worker processes (default 1); X-Forwarded-For believed only from
# GUICHET_TRUSTED_PROXIES (the load balancer's addresses), never from whoever connects.
set -eu
if [ -n "${GUICHET_TRUSTED_PROXIES:-}" ]; then
  set -- --proxy-headers --forwarded-allow-ips "$GUICHET_TRUSTED_PROXIES"
else
  set -- --no-proxy-headers
fi
exec python -m uvicorn api.asgi:app --host 0.0.0.0 --port 8000 --no-access-log \
  --workers "${GUICHET_API_WORKERS:-1}" "$@"
