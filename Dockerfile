# syntax=docker/dockerfile:1
# Two images from one file, as docker-compose.yml builds them:
#   docker build --target hub  -t supportbot-hub  .   # Python 3.11: the hub (FastAPI, rasa-sdk
#                                                     # actions, knowledge base), torch CPU-only
#   docker build --target rasa -t supportbot-rasa .   # Python 3.10: rasa==3.6.21, model trained here
# The two Python versions are why there are two images (README: "Two Python environments").

ARG HUB_BASE=python:3.11-slim
ARG RASA_BASE=python:3.10-slim

# ---------------------------------------------------------------------------------------------
# hub
# ---------------------------------------------------------------------------------------------
FROM ${HUB_BASE} AS hub

# torch's CPU-only wheels (no CUDA libraries: ~1.5 GB smaller); point it at a mirror if needed
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1

WORKDIR /app
# the biggest layer first, so that it is cached across code changes
RUN useradd --create-home --uid 10001 supportbot \
 && pip install --index-url "${TORCH_INDEX_URL}" torch==2.13.0

# the project's dependencies, read from pyproject.toml (cached until pyproject.toml changes)
COPY pyproject.toml ./
RUN python -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; print('\n'.join(deps))" \
        > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# the project itself, editable as `make run` installs it: ROOT stays /app, so the articles,
# migrations and static files are found where they are in a checkout. The knowledge base is
# indexed now (and the embedding models exported to ONNX): a replica starts in seconds, and the
# named volumes for var/kb-index and the articles are filled from the image when first created.
COPY . .
RUN pip install --no-deps -e . \
 && mkdir -p /app/var \
 && supportbot kb index \
 && chown -R supportbot:supportbot /app/var /app/knowledge_base/articles

USER 10001:10001
ENV HOME=/home/supportbot
EXPOSE 8000
# Rasa runs in its own containers (RASA_MANAGED=false, RASA_URL=...); see docker-compose.yml
ENV SUPPORTBOT_HOST=0.0.0.0 \
    SUPPORTBOT_PORT=8000 \
    RASA_MANAGED=false
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["supportbot", "run", "--skip-train"]

# ---------------------------------------------------------------------------------------------
# rasa
# ---------------------------------------------------------------------------------------------
FROM ${RASA_BASE} AS rasa

ENV PYTHONUNBUFFERED=1 \
    RASA_TELEMETRY_ENABLED=false \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
RUN useradd --create-home --uid 10001 rasa \
 && pip install rasa==3.6.21

# the Rasa project only (actions run in the hubs, called on their /webhook)
COPY config.yml domain.yml credentials.yml endpoints.yml endpoints.cluster.yml ./
COPY data ./data
# trained at build time: every replica serves the same model and starts without training
RUN rasa train --config config.yml --domain domain.yml --data data --out models \
        --fixed-model-name supportbot \
 && rm -rf .rasa /root/.cache \
 && chown -R rasa:rasa /app

USER 10001:10001
ENV HOME=/home/rasa
EXPOSE 5005
HEALTHCHECK --interval=10s --timeout=5s --start-period=180s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5005/', timeout=4)"]
# RASA_TOKEN: Rasa's --auth-token (the hubs' RASA_TOKEN); endpoints.cluster.yml reads
# ACTION_ENDPOINT_URL, ACTION_TOKEN, REDIS_HOST, REDIS_PORT and REDIS_PASSWORD
CMD ["sh", "-c", "exec rasa run --enable-api --auth-token \"$RASA_TOKEN\" --interface 0.0.0.0 --port 5005 --model models --endpoints endpoints.cluster.yml --credentials credentials.yml"]
