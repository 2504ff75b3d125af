"""Parsed and validated documents are reused for the same text; failures never are.

The cache must not change an answer: a document that does not parse, breaks a rule or a
limit, or carries a NUL character answers the same every time, and variables are checked
on every request.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
import strawberry.schema.schema as strawberry_schema
from graphql import parse

from app.graphql.documents import DocumentCache
from app.graphql.schema import DOCUMENTS, schema

PREVIEW = "query($cron: String!) { previewSchedule(cron: $cron, count: 2) { description } }"


def context() -> Any:
    settings = SimpleNamespace(allow_signup=True)
    services = SimpleNamespace(settings=settings, clock=lambda: datetime(2026, 1, 5, tzinfo=UTC))
    return SimpleNamespace(services=services)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """Count Strawberry's own parse and validation calls, from an empty cache."""
    counted = {"parse": 0, "validate": 0}
    real_parse, real_validate = strawberry_schema.parse, strawberry_schema.validate_document

    def counting_parse(*args: Any, **kwargs: Any) -> Any:
        counted["parse"] += 1
        return real_parse(*args, **kwargs)

    def counting_validate(*args: Any, **kwargs: Any) -> Any:
        counted["validate"] += 1
        return real_validate(*args, **kwargs)

    monkeypatch.setattr(strawberry_schema, "parse", counting_parse)
    monkeypatch.setattr(strawberry_schema, "validate_document", counting_validate)
    DOCUMENTS.clear()
    yield counted
    DOCUMENTS.clear()


async def run(query: str, **variables: Any) -> Any:
    return await schema.execute(query, variable_values=variables, context_value=context())


async def test_the_same_text_is_parsed_and_validated_once(calls: dict[str, int]) -> None:
    for _ in range(3):
        result = await run("{ signupOpen }")
        assert result.errors is None and result.data == {"signupOpen": True}
    assert calls == {"parse": 1, "validate": 1}
    for cron in ("0 * * * *", "30 2 * * *"):  # other variables, same document
        result = await run(PREVIEW, cron=cron)
        assert result.errors is None
    assert calls == {"parse": 2, "validate": 2}
    assert len(DOCUMENTS) == 2


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("{ signupOpen ", "Syntax Error"),
        ("{ noSuchField }", "Cannot query field 'noSuchField'"),
        ("{ " + " ".join(f"a{i}: signupOpen" for i in range(31)) + " }", "aliases"),
        (
            "{ runs { edges { node { job { lastRun { job { lastRun { job { lastRun { job "
            "{ lastRun { id } } } } } } } } } } } }",
            "exceeds maximum operation depth",
        ),
    ],
    ids=["syntax", "unknown field", "too many aliases", "too deep"],
)
async def test_failures_answer_the_same_every_time(
    calls: dict[str, int], query: str, message: str
) -> None:
    answers = []
    for _ in range(2):
        result = await run(query)
        assert result.data is None and result.errors
        answers.append([error.formatted for error in result.errors])
    assert answers[0] == answers[1]
    assert message in answers[0][0]["message"]
    if message != "Syntax Error":
        assert calls["validate"] == 2  # a document that failed validation is validated again


async def test_nul_characters_are_refused_on_every_request(calls: dict[str, int]) -> None:
    assert (await run(PREVIEW, cron="0 * * * *")).errors is None
    for _ in range(2):  # the document is known; its variables are still checked
        result = await run(PREVIEW, cron="0 *\x00 * * *")
        assert result.errors and result.errors[0].extensions == {
            "code": "validation_error",
            "field": "variables.cron",
        }
    literal = '{ previewSchedule(cron: "0 * * * *\\u0000") { description } }'
    for _ in range(2):
        result = await run(literal)
        assert result.errors and result.errors[0].extensions["field"] == "query"


def test_the_cache_is_bounded_in_entries_and_text_length() -> None:
    cache = DocumentCache(max_entries=2, max_query_length=40)
    document = parse("{ signupOpen }")
    for text in ("{ a }", "{ b }", "{ c }"):
        cache.put(text, {}, document)
    assert len(cache) == 2
    assert cache.get("{ a }", {}) is None and cache.get("{ c }", {}) is not None
    long_text = "{ signupOpen " + " " * 40 + "}"
    assert cache.put(long_text, {}, document) is None and cache.get(long_text, {}) is None
    # Parse options are part of the key: another token limit is another entry.
    cache.put("{ c }", {"max_tokens": 10}, document)
    assert cache.get("{ c }", {"max_tokens": 10}) is not None
    assert cache.get("{ c }", {"max_tokens": 11}) is None
