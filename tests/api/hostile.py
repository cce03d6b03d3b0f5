"""Hostile GraphQL requests, each with the error code it must get."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Hostile:
    name: str
    code: str
    body: Any  # the JSON body (or raw bytes when ``raw``)
    raw: bool = False
    headers: dict[str, str] = field(default_factory=dict)


def _nest(depth: int) -> str:
    """artifact { producer { inputs { producer { inputs ... } } } }, ``depth`` times."""
    return (
        '{ artifact(id: "x") { ' + "producer { inputs { " * depth + "id" + " } }" * depth + " } }"
    )


def fragment_bomb(n: int, leaf: str) -> str:
    """``F0`` holds ``leaf``; each ``F<k>`` spreads ``F<k-1>`` twice: 2^n copies of the leaf
    in a document linear in n (905 bytes at n=22 with a short leaf)."""
    fragments = [f"fragment F0 on Query {{ {leaf} }}"] + [
        f"fragment F{k} on Query {{ ...F{k - 1} ...F{k - 1} }}" for k in range(1, n + 1)
    ]
    return f"{{ ...F{n} }} " + " ".join(fragments)


def kinds(i: int) -> list[Hostile]:
    """One of each kind; ``i`` varies the documents so no cache can answer them all."""
    return [
        Hostile("syntax", "BAD_REQUEST", {"query": "{ runs { nodes { id " + "}" * (i % 2)}),
        Hostile("garbage", "BAD_REQUEST", {"query": f"%%% not graphql {i} %%%"}),
        Hostile("unknown field", "BAD_REQUEST", {"query": f"{{ nope{i} {{ id }} }}"}),
        Hostile(
            "unknown arg", "BAD_REQUEST", {"query": f'{{ run(id: "a", bogus{i}: 1) {{ id }} }}'}
        ),
        Hostile("depth bomb", "LIMIT_EXCEEDED", {"query": _nest(20 + i % 5)}),
        Hostile(
            "alias flood",
            "LIMIT_EXCEEDED",
            {"query": "{ " + " ".join(f"a{i}_{n}: whoami {{ subject }}" for n in range(60)) + " }"},
        ),
        Hostile(
            "token flood",
            "LIMIT_EXCEEDED",
            {"query": "{ whoami { " + " ".join(["subject"] * (3000 + i % 7)) + " } }"},
        ),
        Hostile(
            "huge page",
            "LIMIT_EXCEEDED",
            {"query": f"{{ runs(first: {10**6 + i}) {{ nodes {{ id }} }} }}"},
        ),
        Hostile(
            "huge page by variable",
            "LIMIT_EXCEEDED",
            {
                "query": "query Q($n: Int!) { artifacts(first: $n) { nodes { id } } }",
                "variables": {"n": 10**7 + i},
            },
        ),
        Hostile(
            "huge lineage",
            "LIMIT_EXCEEDED",
            {"query": f'{{ lineage(id: "x", limit: {10**6 + i}) {{ truncated }} }}'},
        ),
        Hostile(
            "cost bomb",
            "LIMIT_EXCEEDED",
            {
                "query": "{ runs(first: 500) { nodes { tasks { inputs { consumers { outputs"
                f" {{ consumers {{ id }} }} }} }} }} }} }} }} # {i}"
            },
        ),
        Hostile("unknown run", "NOT_FOUND", {"query": f'{{ run(id: "run:nope-{i}") {{ id }} }}'}),
        Hostile(
            "unknown lineage start",
            "NOT_FOUND",
            {"query": f'{{ lineage(id: "artifact:nope-{i}") {{ truncated }} }}'},
        ),
        Hostile(
            "negative page",
            "BAD_REQUEST",
            {"query": f"{{ runs(first: -{i + 1}) {{ nodes {{ id }} }} }}"},
        ),
        Hostile(
            "bad cursor",
            "BAD_REQUEST",
            {"query": f'{{ runs(after: "zz{i}") {{ nodes {{ id }} }} }}'},
        ),
        Hostile("mutation", "BAD_REQUEST", {"query": f"mutation M{i} {{ whoami {{ subject }} }}"}),
        Hostile(
            "fragment cycle",
            "BAD_REQUEST",
            {
                "query": '{ run(id: "a") { ...A } } fragment A on Run { ...B } '
                f"fragment B on Run {{ ...A id }} # {i}"
            },
        ),
        Hostile(
            "bad variable",
            "BAD_REQUEST",
            {
                "query": "query Q($n: Int!) { runs(first: $n) { nodes { id } } }",
                "variables": {"n": f"x{i}"},
            },
        ),
        Hostile("missing query", "BAD_REQUEST", {"variables": {"i": i}}),
        Hostile("batch", "BAD_REQUEST", [{"query": "{ whoami { subject } }"}] * 2),
        Hostile("not json", "BAD_REQUEST", b"{not json " + str(i).encode(), raw=True),
        Hostile(
            "variables not an object",
            "BAD_REQUEST",
            {"query": "{ whoami { subject } }", "variables": [i]},
        ),
        Hostile(
            "huge body", "LIMIT_EXCEEDED", {"query": "{ whoami { subject } }", "pad": "x" * 300_000}
        ),
        Hostile(
            "bad direction",
            "BAD_REQUEST",
            {"query": '{ lineage(id: "x", direction: SIDEWAYS) { truncated } }'},
        ),
        Hostile(
            "negative depth",
            "BAD_REQUEST",
            {"query": '{ lineage(id: "x", depth: -1) { truncated } }'},
        ),
        *more_kinds(i),
    ]


EMPTY_ID_FIELDS = (
    '{ node(id: "") { id } }',
    '{ run(id: "") { id } }',
    '{ task(id: "") { id } }',
    '{ artifact(id: "") { id } }',
    '{ snapshot(id: "") { id } }',
    '{ pipeline(id: "") { id } }',
    '{ lineage(id: "") { truncated } }',
    '{ path(from: "", to: "x") { found } }',
    '{ diff(from: "", to: "x") { same } }',
    '{ impact(artifactId: "") { totalCount } }',
    '{ impact(snapshotId: "") { totalCount } }',
)
SURROGATES = ("\\ud800", "\\udfff", "\\udc80", "\\ud83d")


def _raw(document: dict[str, Any], surrogate: str) -> bytes:
    """The JSON body with a lone surrogate escape spliced in where ``@`` stands."""
    import json

    return json.dumps(document).replace("@", surrogate).encode()


def more_kinds(i: int) -> list[Hostile]:
    """Fragment bombs, cycles, unknown fragments, introspection bombs, sizes, types,
    surrogates, deep JSON and empty ids."""
    surrogate = SURROGATES[i % len(SURROGATES)]
    levels = 1_100 + 97 * (i % 50)
    return [
        Hostile(
            "fragment bomb",
            "LIMIT_EXCEEDED",
            {"query": fragment_bomb(22 + i % 20, f"r{i}: runs(first: 2) {{ nodes {{ id }} }}")},
        ),
        Hostile(
            "fragment bomb of pages",
            "LIMIT_EXCEEDED",
            {"query": fragment_bomb(14 + i % 30, "runs(first: 5) { nodes { id } }") + f" #{i}"},
        ),
        Hostile("unknown fragment", "BAD_REQUEST", {"query": f"{{ ...Nope{i} }}"}),
        Hostile(
            "long fragment cycle",
            "BAD_REQUEST",
            {
                "query": "{ ...C0 } "
                + " ".join(
                    f"fragment C{k} on Query {{ ...C{(k + 1) % (3 + i % 40)} }}"
                    for k in range(3 + i % 40)
                )
            },
        ),
        Hostile(  # refused by graphql-core's introspection depth rule
            "introspection bomb",
            "BAD_REQUEST",
            {
                "query": "{ __schema { types { "
                + "fields { type { " * (4 + i % 4)
                + "name"
                + " } }" * (4 + i % 4)
                + f" }} }} }} #{i}"
            },
        ),
        Hostile(
            "oversized document",
            "LIMIT_EXCEEDED",
            {"query": "#" + "x" * (20_001 + i) + "\n{ whoami { subject } }"},
        ),
        Hostile(
            "huge string",
            "NOT_FOUND",
            {"query": '{ run(id: "' + "r" * (15_000 + i) + '") { id } }'},
        ),
        Hostile(
            "huge string variable",
            "NOT_FOUND",
            {
                "query": "query Q($id: ID!) { run(id: $id) { id } }",
                "variables": {"id": "r" * (200_000 + i)},
            },
        ),
        Hostile(
            "wrong type", "BAD_REQUEST", {"query": f'{{ runs(first: "{i}") {{ nodes {{ id }} }} }}'}
        ),
        Hostile(
            "wrong type by variable",
            "BAD_REQUEST",
            {
                "query": 'query Q($d: Int!) { lineage(id: "x", depth: $d) { truncated } }',
                "variables": {"d": [i]},
            },
        ),
        Hostile(
            "wide selection",  # graphql-core compares these pairwise: off the event loop
            "BAD_REQUEST",
            {"query": "{ whoami { " + "subject " * (150 + i % 50) + f"nope{i} }} }}"},
        ),
        Hostile(
            "batch of many",
            "BAD_REQUEST",
            [{"query": f'{{ run(id: "r{n}") {{ id }} }}'} for n in range(50 + i % 50)],
        ),
        Hostile(
            "surrogate in a comment",
            "BAD_REQUEST",
            _raw({"query": f"{{ whoami {{ subject }} }} # {i} @"}, surrogate),
            raw=True,
        ),
        Hostile(
            "surrogate in a variable",
            "BAD_REQUEST",
            _raw(
                {
                    "query": "query Q($id: ID!) { run(id: $id) { id } }",
                    "variables": {"id": f"{i}@"},
                },
                surrogate,
            ),
            raw=True,
        ),
        Hostile(
            "deep JSON",
            "BAD_REQUEST",
            b'{"query": "{ whoami { subject } }", "variables": {"v": '
            + b"[" * levels
            + b"]" * levels
            + b"}}",
            raw=True,
        ),
        Hostile("empty id", "BAD_REQUEST", {"query": EMPTY_ID_FIELDS[i % len(EMPTY_ID_FIELDS)]}),
    ]


def stream(count: int) -> Iterator[Hostile]:
    for i in itertools.count():
        for hostile in kinds(i):
            if count <= 0:
                return
            count -= 1
            yield hostile
