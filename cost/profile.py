"""How the POC is used: the inputs of the cost model, read from cost/profiles.yaml and checked here."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PROFILES_FILE = Path(__file__).with_name("profiles.yaml")
DEFAULT_PROFILE = "poc"


class ProfileError(ValueError):
    """A usage profile is missing or has a bad value; the message names the field and the fix."""


@dataclass(frozen=True)
class UsageProfile:
    name: str
    description: str
    events_per_second: float
    """Events the producers send while they run."""
    producer_hours_per_day: float
    producer_days_per_week: int
    dashboard_hours_per_day: float
    """Hours a day the live dashboard is open (one viewer; Superset refreshes it for everyone at once)."""
    dashboard_days_per_week: int
    bytes_per_event: float
    """Uncompressed NDJSON bytes per event, what Snowpipe bills."""
    dashboard_query_seconds: float
    """Warehouse time of one dashboard refresh (all its charts), on the stack's warehouse size."""
    task_run_seconds: float
    """Run time of one conversion refresh (CALL CONVERSION_REFRESH) on XSMALL."""
    cloud_services_seconds_per_query: float
    """Cloud services time per statement (compile, metadata); an assumption, Snowflake publishes none."""
    stored_bytes_per_event: float
    """Bytes an event occupies in Snowflake's compressed storage."""
    refresh_seconds: int | None = None
    """Dashboard refresh interval; None: the dashboard asset's own refresh_frequency."""
    task_schedule_minutes: int | None = None
    """Task schedule; None: the stack's transformationScheduleMinutes."""

    def with_overrides(self, **overrides: Any) -> UsageProfile:
        given = {k: v for k, v in overrides.items() if v is not None}
        return _checked(dataclasses.replace(self, **given)) if given else self


_LIMITS: dict[str, tuple[float, float]] = {
    "events_per_second": (0, 1_000_000),
    "producer_hours_per_day": (0, 24),
    "producer_days_per_week": (0, 7),
    "dashboard_hours_per_day": (0, 24),
    "dashboard_days_per_week": (0, 7),
    "bytes_per_event": (1, 10_000_000),
    "dashboard_query_seconds": (0, 3600),
    "task_run_seconds": (0, 3600),
    "cloud_services_seconds_per_query": (0, 60),
    "stored_bytes_per_event": (0, 10_000_000),
    "refresh_seconds": (1, 86_400),
    "task_schedule_minutes": (1, 11_520),
}


def _checked(profile: UsageProfile) -> UsageProfile:
    problems = []
    for field, (low, high) in _LIMITS.items():
        value = getattr(profile, field)
        if value is None and field in ("refresh_seconds", "task_schedule_minutes"):
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            problems.append(f"  {field}: must be a number from {low:g} to {high:g}, got {value!r}")
    if problems:
        raise ProfileError(f"usage profile '{profile.name}' has bad values:\n" + "\n".join(problems))
    return profile


def load_profiles(path: Path = PROFILES_FILE) -> dict[str, UsageProfile]:
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise ProfileError(f"cannot read usage profiles from {path}: {err}") from err
    fields = {f.name for f in dataclasses.fields(UsageProfile)} - {"name"}
    profiles = {}
    for name, values in (raw or {}).items():
        if not isinstance(values, dict):
            raise ProfileError(f"{path}: profile '{name}' must be a mapping of field: value")
        unknown = sorted(set(values) - fields)
        missing = sorted(f.name for f in dataclasses.fields(UsageProfile) if f.name in fields - set(values)
                         and f.default is dataclasses.MISSING)  # fmt: skip
        if unknown or missing:
            raise ProfileError(
                f"{path}: profile '{name}'"
                + (f" has unknown fields {', '.join(unknown)}" if unknown else "")
                + (f" lacks {', '.join(missing)}" if missing else "")
                + f"; the fields are: {', '.join(sorted(fields))}"
            )
        profiles[name] = _checked(UsageProfile(name=name, **values))
    return profiles


def profile(name: str = DEFAULT_PROFILE, path: Path = PROFILES_FILE) -> UsageProfile:
    profiles = load_profiles(path)
    if name not in profiles:
        raise ProfileError(f"no usage profile '{name}' in {path}: choose one of {', '.join(profiles)}")
    return profiles[name]
