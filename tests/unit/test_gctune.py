"""The long-running processes freeze their start-up heap and collect young objects less often."""

from __future__ import annotations

import gc

from exchange import gctune


def test_tuning_freezes_the_heap_and_raises_the_young_threshold() -> None:
    before = gc.get_threshold()
    try:
        gctune.tune_after_start()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (gctune.YOUNG_THRESHOLD, before[1], before[2])
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
