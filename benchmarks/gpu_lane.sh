#!/usr/bin/env bash
# The GPU lane (docs/jobs.md, "GPU targets"): what only a GPU can show, run in one call on a machine
# that has a CUDA GPU, PyTorch, Lightning, CuPy and nvidia-ml-py (Python 3.12) but no package index.
#
#   benchmarks/gpu_lane.sh wheels    here, where the package index is reachable: lays out .whl/
#                                    (git-ignored) with what that machine lacks, for Python 3.12
#   benchmarks/gpu_lane.sh run OUT   there, from the repository's root: installs .whl/ into
#                                    /tmp/site, runs the GPU tests, writes OUT/log.txt,
#                                    OUT/junit.xml and OUT/nvidia-smi.txt
#
# The tests: tests/gpu (a dask-cuda cluster with one worker per GPU; a cell and a submitted script
# training a torch model on the GPU; the GPU in the run's tags and system metrics; a job asking for
# more GPUs than a worker has, refused at once), tests/learn/test_lightning.py (the Lightning logger
# on the machine's own torch, on the GPU too) and tests/test_sysmetrics.py. They skip, saying why,
# where there is no GPU. The whole run takes a few minutes; the device call's limit is 10.
set -euo pipefail
cd "$(dirname "$0")/.."

# What the GPU machine's image lacks of aml_jupyter's needs on these paths. dask and distributed at
# the versions this dask-cuda was released against.
WHEELS=(
  "sqlalchemy" "greenlet" "traitlets"
  "dask==2026.7.1" "distributed==2026.7.1" "dask-cuda==26.10.0" "rapids-dask-dependency==26.10.0"
  "tornado" "tblib" "zict" "partd" "locket"
)

case "${1:-}" in
wheels)
  python=${PYTHON:-.venv/bin/python}
  rm -rf .whl && mkdir -p .whl
  "$python" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl "${WHEELS[@]}"
  du -sh .whl
  ls .whl
  ;;
run)
  out=${2:?"usage: benchmarks/gpu_lane.sh run OUT"}
  mkdir -p "$out"
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  # The project from this checkout; its dependencies from the image and /tmp/site. Every process a
  # test starts (a Dask worker, a job's supervisor) finds both.
  export PYTHONPATH="$PWD:/tmp/site" PYTHONUNBUFFERED=1
  nvidia-smi >"$out/nvidia-smi.txt" 2>&1 || true
  python3 -c "import torch, lightning, dask_cuda, aml_jupyter; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.device_count(), 'lightning', lightning.__version__, 'dask-cuda', dask_cuda.__version__)" | tee "$out/log.txt"
  set +e
  timeout 480 python3 -m pytest -p no:cacheprovider -o addopts="--strict-markers -ra" -o timeout=300 -q \
    tests/gpu tests/learn/test_lightning.py tests/test_sysmetrics.py --junitxml="$out/junit.xml" 2>&1 | tee -a "$out/log.txt"
  rc=${PIPESTATUS[0]}
  echo "gpu lane: pytest exit status $rc" | tee -a "$out/log.txt"
  exit "$rc"
  ;;
*)
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
  ;;
esac
