"""The LineageReader contract: every reader and every reader wrapper must pass it.

All of them answer from the same recorded runs (tests/query/scenario.py, recorded by
the ``recorded`` fixture in tests/contracts/conftest.py); each subclass only says how
its reader is built (tests/contracts/test_reader_adapters.py). Expected answers follow
from how the scenario wires its runs, never from an earlier run of the code.
"""

from __future__ import annotations

import pytest

from lineage.errors import BadInputError, NotFoundError
from lineage.model import ALL_EDGES, Direction, EdgeKind, NodeKind
from lineage.query.port import LineageReader
from lineage.query.service import LineageService
from lineage.query.types import Change, DiffCategory, ImpactQuery, LineageQuery
from lineage.store.mlmd import MlmdStore
from tests.query.scenario import Scenario


class Recorded:
    def __init__(self, store: MlmdStore, sc: Scenario, r1_recorded_ms: int) -> None:
        self.store = store
        self.sc = sc
        self.r1_recorded_ms = r1_recorded_ms


def ids(nodes: object) -> set[str]:
    return {n.id for n in nodes}  # type: ignore[attr-defined]


class ReaderContract:
    """Every reader must pass these. A subclass provides the ``reader`` fixture, any
    LineageReader over the recorded runs; the contract asks it through the query service."""

    @pytest.fixture
    def reader(self, recorded: Recorded) -> LineageReader:
        raise NotImplementedError

    @pytest.fixture
    def service(self, reader: LineageReader) -> LineageService:
        return LineageService(reader)

    # --- lineage -----------------------------------------------------------

    def test_upstream_of_a_model_reaches_its_data_tasks_and_images(
        self, service: LineageService, recorded: Recorded
    ) -> None:
        sc = recorded.sc
        model = sc.out(sc.r1, "train/model")
        answer = service.lineage(LineageQuery(model, Direction.UPSTREAM, depth=50))
        clean = sc.out(sc.r1, "preprocess/clean")
        # The cached r2/preprocess also wrote clean1 (KFP re-links a cache hit's outputs).
        expected = {
            model,
            "task:r1/train",
            clean,
            "task:r1/preprocess",
            "task:r2/preprocess",
            sc.raw.id,
            sc.snapshot,  # the snapshot of the data read: the same bytes, kept
            sc.prep_image.id,
            sc.trainer_v1.id,
        }
        assert ids(answer.nodes) == expected
        assert not answer.truncated
        kinds = {(e.source, e.target): e.kind for e in answer.edges}
        assert kinds[(sc.trainer_v1.id, "task:r1/train")] is EdgeKind.USES_IMAGE
        assert kinds[("task:r1/preprocess", "task:r2/preprocess")] is EdgeKind.CACHED_FROM
        assert kinds[(clean, "task:r1/train")] is EdgeKind.INPUT
        assert {e.key for e in answer.edges if e.target == "task:r1/train"} == {"data", "pod"}

    def test_downstream_of_the_hub_reaches_its_snapshot_and_every_model(
        self, service: LineageService, recorded: Recorded
    ) -> None:
        sc = recorded.sc
        answer = service.lineage(LineageQuery(sc.raw.id, Direction.DOWNSTREAM, depth=50))
        models = {n.id for n in answer.nodes if n.type == "system.Model"}
        assert models == {
            sc.out(sc.r1, "train/model"),
            sc.out(sc.r2, "train/model"),
            sc.out(sc.r3, "export/exported"),
        }
        assert sc.snapshot in ids(answer.nodes)
        assert (sc.raw.id, sc.snapshot, EdgeKind.SNAPSHOT_OF) in {
            (e.source, e.target, e.kind) for e in answer.edges
        }
        assert not answer.truncated

    def test_a_depth_cut_says_truncated_and_what_it_did_not_walk(
        self, service: LineageService, recorded: Recorded
    ) -> None:
        model = recorded.sc.out(recorded.sc.r2, "train/model")
        answer = service.lineage(LineageQuery(model, Direction.UPSTREAM, depth=1))
        assert ids(answer.nodes) == {model, "task:r2/train"}
        assert (answer.truncated, answer.truncated_by) == (True, "depth")
        assert answer.frontier == ("task:r2/train",)
        assert answer.depth_reached == 1
        assert answer.nodes_seen > len(answer.nodes)  # it saw what lay beyond the cut

    def test_depth_zero_returns_the_start_alone_and_truncated(
        self, service: LineageService, recorded: Recorded
    ) -> None:
        answer = service.lineage(LineageQuery(recorded.sc.raw.id, Direction.DOWNSTREAM, depth=0))
        assert ids(answer.nodes) == {recorded.sc.raw.id}
        assert answer.truncated

    def test_a_node_limit_cut_keeps_the_limit_and_says_so(
        self, service: LineageService, recorded: Recorded
    ) -> None:
        answer = service.lineage(
            LineageQuery(recorded.sc.raw.id, Direction.DOWNSTREAM, depth=50, limit=4)
        )
        assert len(answer.nodes) == 4
        assert (answer.truncated, answer.truncated_by) == (True, "limit")
        assert recorded.sc.raw.id in ids(answer.nodes)

    def test_a_limit_that_fits_exactly_is_not_a_cut(
        self, service: LineageService, recorded: Recorded
    ) -> None:
        model = recorded.sc.out(recorded.sc.r1, "train/model")
        whole = service.lineage(LineageQuery(model, Direction.UPSTREAM, depth=50))
        exact = service.lineage(
            LineageQuery(model, Direction.UPSTREAM, depth=50, limit=len(whole.nodes))
        )
        assert exact == whole

    def test_kinds_filter_walks_through_tasks_but_returns_artifacts(
        self, service: LineageService, recorded: Recorded
    ) -> None:
        sc = recorded.sc
        exported = sc.out(sc.r3, "export/exported")
        answer = service.lineage(
            LineageQuery(exported, depth=50, kinds=frozenset({NodeKind.ARTIFACT}))
        )
        assert ids(answer.nodes) == {
            exported,
            sc.out(sc.r2, "train/model"),
            sc.out(sc.r1, "preprocess/clean"),
            sc.raw.id,
        }
        assert answer.edges == ()  # no artifact feeds another directly

    def test_stop_at_returns_the_stop_node_and_walks_no_further(
        self, service: LineageService, recorded: Recorded
    ) -> None:
        model = recorded.sc.out(recorded.sc.r2, "train/model")
        answer = service.lineage(LineageQuery(model, depth=50, stop_at=frozenset({NodeKind.TASK})))
        assert ids(answer.nodes) == {model, "task:r2/train"}
        assert not answer.truncated

    def test_both_directions_from_an_intermediate_dataset(
        self, service: LineageService, recorded: Recorded
    ) -> None:
        clean = recorded.sc.out(recorded.sc.r1, "preprocess/clean")
        answer = service.lineage(LineageQuery(clean, Direction.BOTH, depth=1))
        assert ids(answer.nodes) == {
            clean,
            "task:r1/preprocess",
            "task:r2/preprocess",
            "task:r1/train",
            "task:r2/train",
        }

    def test_part_of_and_version_of_are_walked_only_when_asked(
        self, service: LineageService, recorded: Recorded
    ) -> None:
        sc = recorded.sc
        plain = service.lineage(LineageQuery("task:r1/train", Direction.DOWNSTREAM, depth=5))
        assert sc.r1.run_id not in ids(plain.nodes)
        placed = service.lineage(
            LineageQuery(
                "task:r1/train",
                Direction.DOWNSTREAM,
                depth=2,
                edge_kinds=frozenset({EdgeKind.PART_OF, EdgeKind.VERSION_OF}),
            )
        )
        assert ids(placed.nodes) == {
            "task:r1/train",
            sc.r1.run_id,
            sc.r1.version_id,
            "pipeline:train-pipeline",
        }
        nested = service.lineage(
            LineageQuery(
                "task:r3/loop/evaluate",
                Direction.DOWNSTREAM,
                depth=1,
                edge_kinds=frozenset({EdgeKind.PARENT_DAG}),
            )
        )
        assert ids(nested.nodes) == {"task:r3/loop/evaluate", "task:r3/loop"}

    def test_upstream_of_a_run_over_all_edges_finds_its_tasks(
        self, service: LineageService, recorded: Recorded
    ) -> None:
        sc = recorded.sc
        answer = service.lineage(
            LineageQuery(sc.r3.run_id, Direction.UPSTREAM, depth=1, edge_kinds=ALL_EDGES)
        )
        tasks = {n.id for n in answer.nodes if n.kind is NodeKind.TASK}
        assert tasks == {e.id for e in sc.r3.executions}

    def test_as_of_hides_what_was_recorded_later(
        self, service: LineageService, recorded: Recorded
    ) -> None:
        sc = recorded.sc
        model = sc.out(sc.r1, "train/model")
        then = service.lineage(LineageQuery(model, depth=50, as_of_ms=recorded.r1_recorded_ms))
        now = service.lineage(LineageQuery(model, depth=50))
        assert "task:r2/preprocess" in ids(now.nodes)
        # The snapshot of the raw data was recorded after r1 as well.
        assert ids(then.nodes) == ids(now.nodes) - {"task:r2/preprocess", sc.snapshot}
        with pytest.raises(NotFoundError):
            service.lineage(
                LineageQuery(sc.out(sc.r3, "export/exported"), as_of_ms=recorded.r1_recorded_ms)
            )

    # --- impact ------------------------------------------------------------

    def test_impact_of_an_image_digest_finds_every_downstream_model_and_run(
        self, service: LineageService, recorded: Recorded
    ) -> None:
        sc = recorded.sc
        digest = str(sc.prep_image.properties["digest"])
        answer = service.impact(ImpactQuery(image=digest))
        assert ids(answer.sources) == {sc.prep_image.id}
        assert ids(answer.models) == {
            sc.out(sc.r1, "train/model"),
            sc.out(sc.r2, "train/model"),
            sc.out(sc.r3, "export/exported"),
        }
        assert ids(answer.runs) == {sc.r1.run_id, sc.r2.run_id, sc.r3.run_id}
        assert (answer.total_models, answer.total_runs, answer.cursor) == (3, 3, None)

    def test_impact_by_id_prefix_matches_every_tag_of_a_repository(
        self, service: LineageService, recorded: Recorded
    ) -> None:
        sc = recorded.sc
        answer = service.impact(ImpactQuery(image="image:registry.local/trainer@"))
        assert ids(answer.sources) == {sc.trainer_v1.id, sc.trainer_v2.id}
        v2_only = service.impact(ImpactQuery(image=str(sc.trainer_v2.properties["digest"])))
        assert ids(v2_only.models) == {
            sc.out(sc.r2, "train/model"),
            sc.out(sc.r3, "export/exported"),
        }
        assert ids(v2_only.runs) == {sc.r2.run_id, sc.r3.run_id}

    def test_impact_pages_cover_everything_once(
        self, service: LineageService, recorded: Recorded
    ) -> None:
        seen_models: list[str] = []
        seen_runs: list[str] = []
        after = None
        for _ in range(10):
            page = service.impact(ImpactQuery(artifact=recorded.sc.raw.id, first=1, after=after))
            seen_models += [n.id for n in page.models]
            seen_runs += [n.id for n in page.runs]
            after = page.cursor
            if after is None:
                break
        whole = service.impact(ImpactQuery(artifact=recorded.sc.raw.id))
        assert seen_models == [n.id for n in whole.models]
        assert seen_runs == [n.id for n in whole.runs]
        assert len(seen_models) == whole.total_models

    def test_impact_pages_without_totals_equal_the_counted_pages(
        self, service: LineageService, recorded: Recorded
    ) -> None:
        """``count=False`` lets a reader answer a page without walking everything
        downstream; the pages must be the same ones, only the totals are left out."""
        sc = recorded.sc
        for start in (
            ImpactQuery(artifact=sc.raw.id, first=1),
            ImpactQuery(image=str(sc.prep_image.properties["digest"]), first=2),
        ):
            counted: list[tuple[list[str], list[str]]] = []
            uncounted: list[tuple[list[str], list[str]]] = []
            for count, pages in ((True, counted), (False, uncounted)):
                after = None
                for _ in range(20):
                    query = ImpactQuery(
                        artifact=start.artifact,
                        image=start.image,
                        first=start.first,
                        after=after,
                        count=count,
                    )
                    page = service.impact(query)
                    pages.append(([n.id for n in page.models], [n.id for n in page.runs]))
                    if count:
                        assert page.counted
                    if not page.counted:  # a reader may still count when not asked to
                        assert (page.total_models, page.total_runs) == (-1, -1)
                    after = page.cursor
                    if after is None:
                        break
            assert uncounted == counted
            assert sum(len(m) for m, _ in counted) > 1  # more than one page was walked

    def test_impact_of_a_snapshot_is_impact_of_the_data_it_holds(
        self, service: LineageService, recorded: Recorded
    ) -> None:
        sc = recorded.sc
        of_snapshot = service.impact(ImpactQuery(snapshot=sc.snapshot))
        of_data = service.impact(ImpactQuery(artifact=sc.raw.id))
        assert of_snapshot.total_models == of_data.total_models > 0
        assert (of_snapshot.models, of_snapshot.runs) == (of_data.models, of_data.runs)

    # --- path and diff -----------------------------------------------------

    def test_shortest_path_from_the_hub_to_the_last_metrics(
        self, service: LineageService, recorded: Recorded
    ) -> None:
        sc = recorded.sc
        metrics = sc.out(sc.r3, "loop/evaluate/metrics")
        answer = service.path(sc.raw.id, metrics)
        assert answer.found and not answer.reversed
        assert (answer.nodes[0].id, answer.nodes[-1].id) == (sc.raw.id, metrics)
        # raw -> preprocess -> clean -> train -> model2 -> export -> exported -> evaluate -> metrics
        assert len(answer.edges) == 8
        pairs = zip(answer.edges, answer.edges[1:], strict=False)
        assert all(a.target == b.source for a, b in pairs)
        back = service.path(metrics, sc.raw.id)
        assert back.found and back.reversed
        assert [n.id for n in back.nodes] == [n.id for n in answer.nodes]

    def test_diff_of_two_trainings_names_what_changed(
        self, service: LineageService, recorded: Recorded
    ) -> None:
        sc = recorded.sc
        answer = service.diff(sc.out(sc.r1, "train/model"), sc.out(sc.r2, "train/model"))
        changed = {(e.category, e.key): (e.before, e.after, e.change) for e in answer.entries}
        assert changed[(DiffCategory.PARAMETER, "train/lr")] == ("0.1", "0.2", Change.CHANGED)
        assert changed[(DiffCategory.RUN, "run")][:2] == (sc.r1.run_id, sc.r2.run_id)
        assert changed[(DiffCategory.RUN, "state")][:2] == ("SUCCEEDED", "FAILED")
        assert changed[(DiffCategory.SPEC, "pipeline_version")][:2] == (
            sc.r1.version_id,
            sc.r2.version_id,
        )
        image_before, image_after, _ = changed[(DiffCategory.IMAGE, "train")]
        assert str(sc.trainer_v1.properties["digest"]) in (image_before or "")
        assert str(sc.trainer_v2.properties["digest"]) in (image_after or "")
        assert (DiffCategory.SOURCE, "train") in changed
        # Same data, same preprocessing, same epochs: none of them is reported.
        assert not any(c is DiffCategory.DATA for c, _ in changed)
        assert (DiffCategory.PARAMETER, "train/epochs") not in changed

    def test_diff_of_a_model_with_itself_is_empty(
        self, service: LineageService, recorded: Recorded
    ) -> None:
        model = recorded.sc.out(recorded.sc.r1, "train/model")
        assert service.diff(model, model).same

    # --- bad input ---------------------------------------------------------

    def test_an_unknown_id_is_not_found(self, service: LineageService) -> None:
        with pytest.raises(NotFoundError, match="artifact:nowhere"):
            service.lineage(LineageQuery("artifact:nowhere"))
        with pytest.raises(NotFoundError):
            service.impact(ImpactQuery(image="sha256:" + "0" * 64))

    @pytest.mark.parametrize("depth", [-1, 1001, 10**9])
    def test_a_negative_or_absurd_depth_is_refused(
        self, service: LineageService, recorded: Recorded, depth: int
    ) -> None:
        with pytest.raises(BadInputError, match="depth"):
            service.lineage(LineageQuery(recorded.sc.raw.id, depth=depth))

    def test_a_bad_cursor_or_a_diff_of_non_artifacts_is_refused(
        self, service: LineageService, recorded: Recorded
    ) -> None:
        with pytest.raises(BadInputError, match="cursor"):
            service.impact(ImpactQuery(artifact=recorded.sc.raw.id, after="not-a-cursor"))
        with pytest.raises(BadInputError, match="model artifacts"):
            service.diff("task:r1/train", recorded.sc.out(recorded.sc.r1, "train/model"))
