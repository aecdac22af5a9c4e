"""How one fetch is split into transactions: main-topic partitions together, each retry-topic
partition alone (its records wait for their due time)."""

from __future__ import annotations

from aiokafka import TopicPartition

from exchange.messaging.consumer import _groups

MAIN, OTHER = "cjs.case-file.v1", "cjs.court-bundle.v1"


def test_main_topic_partitions_share_one_group_and_retry_partitions_stand_alone() -> None:
    batches = {
        TopicPartition(MAIN, 0): ["a0", "a1"],
        TopicPartition(MAIN + ".retry-1", 0): ["r0"],
        TopicPartition(OTHER, 3): ["b0"],
        TopicPartition(MAIN + ".retry-2", 1): ["s0", "s1"],
        TopicPartition(MAIN, 1): [],
    }
    groups = _groups(batches)  # type: ignore[arg-type]
    assert groups == [
        {TopicPartition(MAIN, 0): ["a0", "a1"], TopicPartition(OTHER, 3): ["b0"]},
        {TopicPartition(MAIN + ".retry-1", 0): ["r0"]},
        {TopicPartition(MAIN + ".retry-2", 1): ["s0", "s1"]},
    ]


def test_an_empty_fetch_is_no_group() -> None:
    assert _groups({}) == []
