# The acav-assets code location: a gRPC server for acav_assets.definitions on port 4000, and the
# image of the run and step pods that Dagster launches from it. docs/deploy.md has the details.
#   docker build -t acav-assets:0.1.0 .                                   # CPU torch (lite profile)
#   docker build -t acav-assets:0.1.0-cuda \
#     --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128 . # CUDA torch (GPU nodes)
# Pin the base by digest for reproducible builds: --build-arg PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:...
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
# torch comes from this index: CPU wheels by default, a CUDA index for the GPU image.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
# The same pin as pyproject.toml (a test checks that they agree).
ARG TORCH_VERSION=2.13.0
# Optional dependency groups of pyproject.toml to install besides the package's own (comma-separated).
ARG EXTRAS=k8s
ENV PATH=/opt/venv/bin:$PATH \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
WORKDIR /opt/acav
COPY pyproject.toml requirements-nodeps.txt ./
# Dependencies before the code, so that a code change reuses this layer: torch from its index,
# then pyproject's dependencies and extras (already-installed torch satisfies its pin), then the
# packages installed without their unsatisfiable metadata, as the Makefile does.
RUN pip install --no-cache-dir --index-url "${TORCH_INDEX_URL}" "torch==${TORCH_VERSION}" \
 && python -c "import sys, tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
extras = [e for e in sys.argv[1].split(',') if e]; \
print('\n'.join(p['dependencies'] + [d for e in extras for d in p['optional-dependencies'][e]]))" "${EXTRAS}" \
    > image-requirements.txt \
 && pip install --no-cache-dir -r image-requirements.txt \
 && pip install --no-cache-dir --no-deps -r requirements-nodeps.txt
COPY . .
# Editable, so that the DuckDB statistics find their SQL models in dbt_like_sql/ beside the package.
RUN pip install --no-cache-dir --no-deps -e . \
 && python -c "import torch; assert torch.__version__.split('+')[0] == '${TORCH_VERSION}', torch.__version__"

FROM ${PYTHON_IMAGE}
# libgomp1: the OpenMP runtime that bitsandbytes' CPU library links against. Every other native
# library (FFmpeg in av, libsndfile in soundfile, CTranslate2, ONNX Runtime, torch, xgboost's
# own libgomp) ships inside its wheel; nothing else comes from apt.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 --user-group acav \
 && mkdir -p /opt/dagster/dagster_home /data \
 && chown acav:acav /opt/dagster/dagster_home /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/acav /opt/acav
# DAGSTER_HOME is where the Helm chart mounts the instance's dagster.yaml; ACAV_DATA_ROOT is a
# local default (mount a volume there, or set s3://... / gs://...). The CUDA image's
# CTranslate2 (faster-whisper) finds cuBLAS and cuDNN in the nvidia wheels torch brings along;
# in the CPU image those folders do not exist and the path is ignored.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DAGSTER_HOME=/opt/dagster/dagster_home \
    ACAV_DATA_ROOT=/data \
    HF_HOME=/home/acav/.cache/huggingface \
    NUMBA_CACHE_DIR=/home/acav/.cache/numba \
    LD_LIBRARY_PATH=/opt/venv/lib/python3.11/site-packages/nvidia/cublas/lib:/opt/venv/lib/python3.11/site-packages/nvidia/cudnn/lib
USER 10001:10001
WORKDIR /home/acav
EXPOSE 4000
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
    CMD ["dagster", "api", "grpc-health-check", "-p", "4000"]
CMD ["dagster", "api", "grpc", "-h", "0.0.0.0", "-p", "4000", "-m", "acav_assets.definitions"]
