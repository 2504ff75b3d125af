"""Parsed and validated GraphQL documents, kept for the next request that sends the same text.

Clients send the same few operations over and over (the dashboard's, the generated
client's). Parsing one and validating it against the schema (every rule, plus the depth
and alias limits) cost about 2 ms of CPU per request: more than the rest of the GraphQL
layer around a mutation together. Both depend only on the query text, the parse options
and the validation rules, never on variables, the caller or the data, so the outcome of
one request holds for the next that sends the same text.

Kept: documents that parsed, and, once one has validated without errors, the rules it
passed. Failures are never kept: a document that does not parse or validate is parsed and
validated again each time and answers exactly as before. Everything checked per request
after parsing (`DtsErrors`: no NUL characters in literals or variables) still runs on every
request. The cache is bounded in entries and in the length of the texts it keeps, so
unique query texts cannot grow memory without limit; the event loop is its only user.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import DocumentNode
from strawberry.extensions import SchemaExtension

MAX_ENTRIES = 256
MAX_QUERY_LENGTH = 20_000  # characters; longer texts are parsed and validated each time


@dataclass
class KnownDocument:
    document: DocumentNode
    validated_with: tuple[Any, ...] | None = None  # the rules it passed without errors


class DocumentCache:
    """A bounded LRU of parsed documents by (query text, parse options)."""

    def __init__(
        self, max_entries: int = MAX_ENTRIES, max_query_length: int = MAX_QUERY_LENGTH
    ) -> None:
        self.max_entries = max_entries
        self.max_query_length = max_query_length
        self._entries: OrderedDict[Hashable, KnownDocument] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()

    def _key(self, query: str | None, parse_options: Mapping[str, Any]) -> Hashable | None:
        if not query or len(query) > self.max_query_length:
            return None
        options = tuple(sorted(parse_options.items()))
        try:
            hash(options)
        except TypeError:  # an option we cannot key on: do not cache
            return None
        return (query, options)

    def get(self, query: str | None, parse_options: Mapping[str, Any]) -> KnownDocument | None:
        key = self._key(query, parse_options)
        if key is None:
            return None
        known = self._entries.get(key)
        if known is not None:
            self._entries.move_to_end(key)
        return known

    def put(
        self, query: str | None, parse_options: Mapping[str, Any], document: DocumentNode
    ) -> KnownDocument | None:
        key = self._key(query, parse_options)
        if key is None:
            return None
        known = self._entries[key] = KnownDocument(document)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return known


class ReuseDocuments(SchemaExtension):
    """Serve parsing and validation from a `DocumentCache` (pass a factory that shares one)."""

    def __init__(self, cache: DocumentCache) -> None:
        self.cache = cache
        self.known: KnownDocument | None = None

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is None:
            self.known = self.cache.get(context.query, context.parse_options)
            if self.known is not None:
                context.graphql_document = self.known.document  # Strawberry skips its parse
        yield
        if self.known is None and context.graphql_document is not None:
            self.known = self.cache.put(
                context.query, context.parse_options, context.graphql_document
            )

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        known = self.known
        if known is None or known.document is not context.graphql_document:
            yield
            return
        rules = tuple(context.validation_rules)
        if known.validated_with == rules and context.pre_execution_errors is None:
            context.pre_execution_errors = []  # Strawberry skips validation; nothing to report
            yield
            return
        yield
        if context.pre_execution_errors == []:  # validated just now, without errors
            known.validated_with = rules
