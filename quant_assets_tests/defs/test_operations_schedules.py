"""The runbook's schedules: New York time across DST, nothing on holidays, after-close ticks on early closes,
and a failed freshness verification that stops the day naming the stale feeds."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from quant_assets.calendars import EXCHANGE_TZ
from quant_assets.defs import build_definitions

NY = ZoneInfo(EXCHANGE_TZ)
DEMO = build_definitions("demo")  # two years of sessions: early closes, DST switches, holidays
REPO = DEMO.get_repository_def()
SCHEDULES = list(DEMO.schedules)
BY_NAME = {s.name: s for s in SCHEDULES}


@pytest.fixture(scope="module")
def instance():
    with dg.instance_for_test() as inst:
        # The morning verification passed on these sessions: their later steps are not stopped.
        for day in ("2024-03-11", "2024-07-02", "2024-07-03", "2023-11-24"):
            inst.report_runless_asset_event(dg.AssetMaterialization("data_freshness", partition=day))
        yield inst


def _tick(name: str, when: datetime, instance: dg.DagsterInstance):
    ctx = dg.build_schedule_context(instance=instance, scheduled_execution_time=when, repository_def=REPO)
    data = BY_NAME[name].evaluate_tick(ctx)
    return data.run_requests or [], data.skip_message


def test_every_step_runs_in_new_york_time_on_weekdays():
    crons = {s.name: (s.cron_schedule, s.execution_timezone) for s in SCHEDULES}
    assert crons == {
        "verify_data_schedule": ("0 7 * * 1-5", EXCHANGE_TZ),
        "features_schedule": ("5 7 * * 1-5", EXCHANGE_TZ),
        "scores_schedule": ("15 7 * * 1-5", EXCHANGE_TZ),
        "blotter_schedule": ("20 7 * * 1-5", EXCHANGE_TZ),
        "market_data_schedule": ("30 13,16 * * 1-5", EXCHANGE_TZ),
        "after_close_schedule": ("0 14,17 * * 1-5", EXCHANGE_TZ),
    }


@pytest.mark.parametrize(
    "when, session",
    [
        (datetime(2024, 3, 8, 7, 0, tzinfo=NY), "2024-03-08"),  # EST: 12:00 UTC
        (datetime(2024, 3, 11, 7, 0, tzinfo=NY), "2024-03-11"),  # EDT after the switch: 11:00 UTC
        (datetime(2024, 3, 11, 11, 0, tzinfo=ZoneInfo("UTC")), "2024-03-11"),
    ],
)
def test_the_morning_tick_requests_the_new_york_session_across_dst(when, session, instance):
    runs, skip = _tick("verify_data_schedule", when, instance)
    assert skip is None and [r.partition_key for r in runs] == [session]


@pytest.mark.parametrize("day", [datetime(2024, 1, 15), datetime(2024, 11, 28), datetime(2024, 12, 25)])
def test_nothing_runs_on_exchange_holidays(day, instance):
    for name in BY_NAME:
        runs, skip = _tick(name, day.replace(hour=16, minute=30, tzinfo=NY), instance)
        assert runs == [] and "is not an XNYS session" in skip


@pytest.mark.parametrize(
    "day, early_runs_at",
    [(datetime(2024, 7, 3), 13), (datetime(2023, 11, 24), 13), (datetime(2024, 7, 2), 16)],
)
def test_after_close_steps_follow_the_exchange_close(day, early_runs_at, instance):
    for name, minute, offset in (("market_data_schedule", 30, 0), ("after_close_schedule", 0, 1)):
        for hour in (13, 16):
            runs, skip = _tick(name, day.replace(hour=hour + offset, minute=minute, tzinfo=NY), instance)
            if hour == early_runs_at:
                assert [r.partition_key for r in runs] == [f"{day:%Y-%m-%d}"], (name, hour)
            else:
                assert runs == [] and "not this tick" in skip, (name, hour)


def test_features_step_also_requests_the_labels_known_at_the_previous_close(instance):
    runs, _ = _tick("features_schedule", datetime(2024, 3, 11, 7, 5, tzinfo=NY), instance)
    assert [(r.partition_key, sorted(k.to_user_string() for k in r.asset_selection)) for r in runs] == [
        ("2024-03-11", ["equity_features", "universe", "vol_features"]),
        ("2024-03-08", ["equity_labels", "vol_labels"]),
    ]


def test_a_failed_freshness_verification_stops_the_day_naming_the_stale_feeds():
    defs = build_definitions("tiny")
    schedules = {s.name: s for s in defs.schedules}
    when = datetime(2024, 1, 4, 7, 0, tzinfo=NY)
    with dg.instance_for_test() as instance:
        repo = defs.get_repository_def()
        ctx = dg.build_schedule_context(instance=instance, scheduled_execution_time=when, repository_def=repo)
        (request,) = schedules["verify_data_schedule"].evaluate_tick(ctx).run_requests
        result = defs.resolve_job_def("verify_data_job").execute_in_process(
            instance=instance, partition_key=request.partition_key, raise_on_error=False
        )
        assert not result.success
        failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
        message = failure.step_failure_data.error.message
        assert "stale feeds, the day stops: adjusted_prices (expected 2024-01-03, last stored never)" in message
        assert "raw_bars (expected 2024-01-03" in message
        for name, minute in (("features_schedule", 5), ("scores_schedule", 15), ("blotter_schedule", 20)):
            ctx = dg.build_schedule_context(
                instance=instance, scheduled_execution_time=when.replace(minute=minute), repository_def=repo
            )
            data = schedules[name].evaluate_tick(ctx)
            assert not data.run_requests
            assert data.skip_message.startswith("day stopped: the data-freshness verification of 2024-01-04")
            assert result.run_id in data.skip_message
