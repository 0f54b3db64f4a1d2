"""What Snowflake bills, as numbers and pure functions; each rule names its source.

Docs pages (docs.snowflake.com) unless marked otherwise. Where a figure was
read in a third party's summary rather than on Snowflake's page, the comment
says so: check those against the current Service Consumption Table
(https://www.snowflake.com/legal-files/CreditConsumptionTable.pdf) before
relying on them.
"""

from __future__ import annotations

import math

# "Understanding compute cost" (user-guide/cost-understanding-compute), table
# "Virtual warehouse credit usage": credits per full hour of a standard
# warehouse; each size up doubles.
CREDITS_PER_HOUR = {
    "XSMALL": 1,
    "SMALL": 2,
    "MEDIUM": 4,
    "LARGE": 8,
    "XLARGE": 16,
    "XXLARGE": 32,
    "XXXLARGE": 64,
    "X4LARGE": 128,
    "X5LARGE": 256,
    "X6LARGE": 512,
}

# Same page: "credits are billed per-second, with a 60-second (i.e. 1-minute)
# minimum: Each time a warehouse is started or resumed, the warehouse is
# billed for 1 minute's worth of usage".
MINIMUM_BILLED_SECONDS = 60

# Service Consumption Table, serverless feature table: Serverless Tasks are
# billed 0.9 credits per compute-hour (1 for their cloud services), a
# compute-hour being "comparable to running an XS Virtual Warehouse for one
# hour", "calculated on a per second basis, rounded up to the nearest whole
# second" (figures as quoted by a third-party research note; the PDF itself
# was not reachable here). No 60 s minimum: that rule is the warehouse's.
SERVERLESS_TASK_COMPUTE_MULTIPLIER = 0.9
SERVERLESS_TASK_CLOUD_SERVICES_MULTIPLIER = 1.0

# "Snowpipe costs" (user-guide/data-load-snowpipe-billing) and the
# Consumption Table: 0.0037 credits per GB, text formats (JSON) on their
# uncompressed size; no per-file charge any more. GB is taken as 10^9 bytes
# (the table does not say which GB; GiB would be 7 % more).
SNOWPIPE_CREDITS_PER_GB = 0.0037
BYTES_PER_GB = 1_000_000_000

# "System usage & billing" (user-guide/admin-usage-billing): cloud services
# are "charged only if the daily consumption of cloud services for the
# account exceeds 10% of the daily usage of the compute resources", computed
# per UTC day. Serverless compute does not count towards that 10 % (same rule
# as quoted by the third-party note above).
CLOUD_SERVICES_FREE_SHARE = 0.10

# Consumption Table: "4.4 Credits per hour of Cloud Services use" (third-party
# quote, as above).
CLOUD_SERVICES_CREDITS_PER_HOUR = 4.4

# "Working with resource monitors" (user-guide/resource-monitors): a monitor
# counts the credits of its warehouses and the cloud services supporting
# them; it does not govern serverless features ("Monitoring cost",
# user-guide/cost-monitoring: serverless spend is watched with Budgets), and
# its limits do not take the daily 10 % adjustment into account.

# The message a query gets from a warehouse its monitor suspended. Snowflake's
# docs do not print it; quoted from third parties that match it in production
# (rudderlabs/rudder-server warehouse/integrations/snowflake/snowflake.go,
# errorsMappings; gosnowflake errors numbered 90073 in public test suites).
MONITOR_SUSPENDED_ERRNO = 90073
MONITOR_SUSPENDED_SQLSTATE = "22000"
MONITOR_SUSPENDED_MESSAGE = (
    "Warehouse '{warehouse}' cannot be resumed because resource monitor '{monitor}' has exceeded its quota."
)


def credits_per_hour(size: str) -> int:
    try:
        return CREDITS_PER_HOUR[size]
    except KeyError:
        raise ValueError(f"unknown warehouse size {size!r}: use one of {', '.join(CREDITS_PER_HOUR)}") from None


def billed_warehouse_seconds(resumed: float, suspended: float) -> float:
    """Per-second billing of one run of a warehouse, with the 60 s minimum per resume."""
    return max(suspended - resumed, MINIMUM_BILLED_SECONDS)


def warehouse_credits(seconds: float, size: str) -> float:
    return seconds / 3600 * credits_per_hour(size)


def serverless_task_credits(run_seconds: float, size: str) -> float:
    """One serverless task run: whole seconds at the size's rate times the serverless multiplier."""
    return math.ceil(run_seconds) / 3600 * credits_per_hour(size) * SERVERLESS_TASK_COMPUTE_MULTIPLIER


def snowpipe_credits(uncompressed_bytes: float) -> float:
    return uncompressed_bytes / BYTES_PER_GB * SNOWPIPE_CREDITS_PER_GB


def billed_cloud_services(used: float, warehouse_compute: float) -> float:
    """One UTC day's cloud services credits after the free share of that day's warehouse compute."""
    return max(0.0, used - CLOUD_SERVICES_FREE_SHARE * warehouse_compute)
