"""describe(): cron expressions in plain English."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.cron_text import describe
from app.domain.errors import ValidationError

DESCRIPTIONS = [
    # the common shapes
    ("* * * * *", "Every minute"),
    ("*/2 * * * *", "Every 2 minutes"),
    ("*/15 * * * *", "Every 15 minutes"),
    ("5 * * * *", "At minute 5 past every hour"),
    ("0 * * * *", "Every hour"),
    ("0 */2 * * *", "Every 2 hours"),
    ("30 */6 * * *", "At minute 30 past every 6 hours"),
    ("30 2 * * *", "At 02:30 every day"),
    ("0 9 * * 1-5", "At 09:00 on Monday through Friday"),
    ("0 9 * * MON-FRI", "At 09:00 on Monday through Friday"),
    ("0 0 * * SAT,SUN", "At 00:00 on Saturday and Sunday"),
    ("0 0 * * 6-7", "At 00:00 on Saturday and Sunday"),
    ("0 0 1 * *", "At 00:00 on day 1 of the month"),
    ("0 0 1,15 * *", "At 00:00 on days 1 and 15 of the month"),
    ("0 12 L * *", "At 12:00 on the last day of the month"),
    ("0 0 LW * *", "At 00:00 on the last weekday of the month"),
    ("0 0 15W * *", "At 00:00 on the weekday nearest day 15 of the month"),
    ("0 0 * * 5L", "At 00:00 on the last Friday of the month"),
    ("0 0 * * 1#2", "At 00:00 on the second Monday of the month"),
    ("0 8,12,18 * * *", "At 08:00, 12:00 and 18:00 every day"),
    ("0 9-17 * * *", "Every hour from 09:00 through 17:00 every day"),
    ("*/15 9-17 * * 1-5", "Every 15 minutes from 09:00 through 17:59 on Monday through Friday"),
    ("* 2 * * *", "Every minute from 02:00 through 02:59 every day"),
    ("0 0 * JAN-MAR *", "At 00:00 every day in January through March"),
    ("0 0 1 1,4,7,10 *", "At 00:00 on day 1 of January, April, July and October"),
    ("0 0 L 2 *", "At 00:00 on the last day of February"),
    ("0 0 */2 * *", "At 00:00 on every 2nd day of the month"),
    ("0 0 5/10 * *", "At 00:00 on days 5, 15 and 25 of the month"),
    # seconds
    ("* * * * * *", "Every second"),
    ("*/10 * * * * *", "Every 10 seconds"),
    ("15 30 2 * * *", "At 02:30:15 every day"),
    ("5 * * * * *", "At second 5, every minute"),
    # macros
    ("@hourly", "Every hour"),
    ("@daily", "At 00:00 every day"),
    ("@midnight", "At 00:00 every day"),
    ("@weekly", "At 00:00 on Sunday"),
    ("@monthly", "At 00:00 on day 1 of the month"),
    ("@yearly", "At 00:00 on January 1"),
    # steps that do not divide the hour are spelled out
    ("*/7 * * * *", "At minutes 0, 7, 14, 21, 28, 35, 42, 49 and 56 past every hour"),
    ("0 */5 * * *", "At 00:00, 05:00, 10:00, 15:00 and 20:00 every day"),
    # both day fields: Vixie's OR, or AND when one starts with '*'
    ("0 0 1,15 * 3", "At 00:00 on days 1 and 15 of the month, and on Wednesday"),
    ("0 0 */2 * MON", "At 00:00 on every 2nd day of the month, if it is Monday"),
    # the field-by-field fallback
    ("0,30 8-18 * * *", "At minutes 0 and 30 past hours 8 through 18 every day"),
    ("0-10,30 * * * *", "At minutes 0 through 10 and 30 past every hour"),
    ("*/5 1,3,5 * * *", "Every 5 minutes during hours 1, 3 and 5 every day"),
]


@pytest.mark.parametrize(("expr", "text"), DESCRIPTIONS)
def test_describe(expr: str, text: str) -> None:
    assert describe(expr) == text


def test_describe_rejects_invalid_expressions() -> None:
    with pytest.raises(ValidationError) as err:
        describe("61 * * * *")
    assert err.value.field == "cron"


def field(lo: int, hi: int, extra: list[str]) -> st.SearchStrategy[str]:
    term = st.one_of(
        st.sampled_from(
            ["*", "*/2", "*/5", "*/7", f"{lo}-{lo + 4}", f"{lo}-{hi}/3", f"{lo + 1}/4"]
        ),
        st.integers(lo, hi).map(str),
        st.sampled_from(extra or ["*"]),
    )
    return st.lists(term, min_size=1, max_size=3).map(",".join)


EXPRESSIONS = st.tuples(
    st.sampled_from(["", "0 ", "*/10 ", "5,35 "]),  # 5 fields, or 6 with seconds
    field(0, 59, []),
    field(0, 23, []),
    field(1, 31, ["L", "LW", "15W"]),
    field(1, 12, ["JAN", "MAR-MAY"]),
    field(0, 7, ["MON-FRI", "5L", "1#2", "SUN"]),
).map(lambda parts: parts[0] + " ".join(parts[1:]))


@settings(max_examples=300, deadline=None)
@given(EXPRESSIONS)
def test_describe_never_fails_on_a_valid_expression(expr: str) -> None:
    try:
        text = describe(expr)
    except ValidationError as err:  # e.g. day 31 in February only
        assert "never happens" in err.message
        return
    assert text and text[0].isupper() and "  " not in text
