# One Dockerfile, three images (Cloud Build builds each with --target):
#   components  the KFP components of the promotion pipeline (and the custom training job)
#   trainer     `python -m trainer.task`, the Vertex AI custom-training entry point
#   serving     `python -m serving`, the prediction server (Vertex custom-container contract)
# Dependencies come from uv.lock, exactly as locally. The base has the project's own
# dependencies (the model, settings, Cloud Storage); each image adds only the groups it runs
# (pyproject.toml): serving adds `serving`, trainer `training`, components `pipeline` and
# `pipeline-steps`. Dev tools and CDKTF are in none. bench/images.py installs each image's
# set from the lock, measures it and runs its entry point.
FROM python:3.11-slim AS base
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    PYTHONUNBUFFERED=1 \
    PATH=/app/.venv/bin:$PATH
COPY uv-requirements.txt /tmp/
RUN pip install --no-cache-dir --require-hashes -r /tmp/uv-requirements.txt
WORKDIR /app
# Dependencies first: this layer is reused until the lock changes.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-default-groups --no-install-project
COPY kernel ./kernel
COPY trainer ./trainer
COPY settings ./settings
COPY promotion ./promotion
COPY adapters ./adapters
COPY pipelines ./pipelines
COPY serving ./serving
COPY monitoring ./monitoring
COPY infra ./infra
COPY mlops ./mlops
RUN uv sync --locked --no-default-groups --no-editable
RUN useradd --uid 10001 --no-create-home app

FROM base AS components
RUN uv sync --locked --no-default-groups --group pipeline --group pipeline-steps --no-editable
USER app
# KFP runs `python3 -m kfp.dsl.executor_main` with each component's source; the venv is first
# on PATH, so python3 has kfp and this repository's packages.
CMD ["python3", "-c", "import kfp, onnxruntime, flaml, pipelines, trainer; print('components image OK')"]

FROM base AS trainer
RUN uv sync --locked --no-default-groups --group training --no-editable
USER app
ENTRYPOINT ["python", "-m", "trainer.task"]

FROM base AS serving
RUN uv sync --locked --no-default-groups --group serving --no-editable
USER app
ENV AIP_HTTP_PORT=8080
# compiled trees are cached per model and CPU (trainer/compiled.py); the user has no home
ENV MLOPS_COMPILE_CACHE=/tmp/census-compiled
EXPOSE 8080
ENTRYPOINT ["python", "-m", "serving"]
