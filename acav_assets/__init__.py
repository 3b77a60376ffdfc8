"""acav-assets: ACAVCaps-style multi-faceted audio captioning as a Dagster asset graph."""

import logging

__version__ = "0.1.0"

# bitsandbytes (AdamW8bit) warns on import, on CPUs with AVX512-BF16, that it cannot fetch an
# optional 4-bit GEMM kernel from the hub. Nothing here uses 4-bit layers; keep run logs clean.
logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)
