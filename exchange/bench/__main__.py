"""``python -m exchange.bench`` = ``exchange bench``."""

from exchange.bench.cli import bench_app

bench_app()
