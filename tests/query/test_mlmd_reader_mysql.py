"""The MLMD reader on MySQL (MariaDB) answers as it does on SQLite.

Its batched reads lean on MLMD filter queries (``IN`` lists, custom property
filters, ``LIKE``), which MLMD compiles to each backend's SQL: this checks the
MySQL side with the same recorded runs.
"""

from __future__ import annotations

from collections.abc import Mapping

from lineage.model import ALL_EDGES, Direction
from lineage.query.readers.mlmd.reader import MlmdReader
from lineage.query.service import LineageService
from lineage.query.types import ImpactQuery, LineageAnswer, LineageQuery
from lineage.store.connect import open_mysql
from lineage.store.convert import HISTORY
from lineage.store.mlmd import MlmdStore
from tests.query import scenario


def _untimed(properties: Mapping[str, object]) -> dict[str, object]:
    return {k: v for k, v in properties.items() if k != HISTORY}


def shape(answer: LineageAnswer) -> object:
    """An answer without recording times, which differ between two stores (the state
    history is stamped with each store's own write time)."""
    return (
        [(n.id, n.kind, n.type, _untimed(n.properties), n.state) for n in answer.nodes],
        answer.edges,
        answer.truncated_by,
        answer.nodes_seen,
    )


def test_mysql_and_sqlite_give_the_same_answers(mysql_url: str, store: MlmdStore) -> None:
    sc = scenario.build()
    mysql = open_mysql(mysql_url)
    try:
        scenario.write(mysql, sc)
        scenario.write(store, sc)
        on_mysql = LineageService(MlmdReader(mysql))
        on_sqlite = LineageService(MlmdReader(store))
        for query in (
            LineageQuery(sc.out(sc.r1, "train/model"), depth=50),
            LineageQuery(sc.raw.id, Direction.DOWNSTREAM, depth=50),
            LineageQuery("task:r1/preprocess", Direction.BOTH, depth=3, edge_kinds=ALL_EDGES),
            LineageQuery(sc.r3.run_id, Direction.UPSTREAM, depth=2, edge_kinds=ALL_EDGES),
        ):
            assert shape(on_mysql.lineage(query)) == shape(on_sqlite.lineage(query)), query
        image = ImpactQuery(image="image:registry.local/trainer@")
        a, b = on_mysql.impact(image), on_sqlite.impact(image)
        assert [n.id for n in a.models] == [n.id for n in b.models]
        assert [n.id for n in a.runs] == [n.id for n in b.runs]
        assert len(a.models) == 3
    finally:
        mysql.close()
