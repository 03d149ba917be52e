"""The configuration the platform creates its topics with: a district's inbound topic, where the district sends
names and GPS points in clear, keeps them ``INBOUND_RETENTION_HOURS`` only; no other topic gets a retention of
the platform's (the domain topics are the history and keep the broker's unlimited retention)."""

from __future__ import annotations

from services.common.base.settings import load_settings
from services.common.read.broker import platform_topics, topic_configs
from services.common.read.inbound import inbound_topic


def test_a_districts_inbound_topic_is_created_with_the_short_retention() -> None:
    # 72 h × 3 600 s × 1 000 ms = 259 200 000 ms
    assert topic_configs(inbound_topic("320402"), 1, 1, 72) == {"retention.ms": "259200000"}
    # replicated, as in production: min.insync.replicas too; 6 h × 3 600 000 = 21 600 000 ms
    assert topic_configs("district.320412.inbound", 3, 2, 6) == {"min.insync.replicas": "2", "retention.ms": "21600000"}


def test_no_other_topic_of_the_platform_gets_a_retention() -> None:
    topics = platform_topics(["office_space", "vehicles"], ["320402"])
    others = [t for t in topics if t != "district.320402.inbound"]
    assert others == [
        "office_space.events",
        "office_space.events.dlq",
        "vehicles.events",
        "vehicles.events.dlq",
        "district.320402.rejected",
    ]
    assert [topic_configs(t, 1, 1, 72) for t in others] == [{}] * 5
    assert topic_configs("vehicles.events", 3, 2, 72) == {"min.insync.replicas": "2"}
    assert topic_configs("district.320402.inbound.dlq", 1, 1, 72) == {}  # the name must match whole


def test_the_retention_is_a_setting_of_72_hours_by_default() -> None:
    assert load_settings({}).inbound_retention_hours == 72
    assert load_settings({"INBOUND_RETENTION_HOURS": "12"}).inbound_retention_hours == 12
