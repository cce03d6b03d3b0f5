"""``lineage rebuild check``: how hermetic a model's rebuild plan is, and where it can run.

The scorecard gives the share of references the plan pins by content, per category; the
plan's gaps; which images and inputs each configured environment already holds; and the
last verified rebuild of the model with its verdict.

Rebuilds are read from their records (``lineage.rebuild.record``): the last is the one
that finished last. A rebuild with caveats (a runner that does not run images) or gaps
(a plan run with --allow-gaps) is never counted as hermetic, whatever its verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from lineage.images.client import RegistryClient
from lineage.rebuild.environments import image_presence, input_presence
from lineage.rebuild.rebuilds import list_rebuilds
from lineage.rebuild.upstream import IMPORTER
from lineage.settings import EnvironmentConfig
from lineage.store.port import MetadataStore

NEVER = "never rebuilt"


def _share(pinned: int, total: int) -> dict[str, Any]:
    return {"pinned": pinned, "total": total, "share": round(pinned / total, 4) if total else None}


def _tasks(plan: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for run in plan.get("runs", []):
        yield from run.get("tasks", [])


def pinned_shares(plan: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Per category, how many references the plan names by content, of how many.

    - spec: runs whose pipeline spec the store holds (named by its digest);
    - images: tasks whose image digest is known (``by_how`` says how);
    - components: container tasks whose code is pinned: the digest of the embedded source
      of a lightweight component, else the image digest (the code is in the image);
    - inputs: inputs with a content digest or a snapshot;
    - outputs: outputs with a content digest (an importer's are inputs).
    """
    runs = plan.get("runs", [])
    tasks = list(_tasks(plan))
    imaged = [t for t in tasks if t.get("image") is not None]
    containers = [t for t in tasks if t.get("kind") == "container"]
    outputs = [o for t in tasks if t.get("type") != IMPORTER for o in t.get("outputs", [])]
    inputs = plan.get("inputs", [])
    by_how: dict[str, int] = {}
    for task in imaged:
        if task["image"].get("digest"):
            how = str(task["image"].get("how"))
            by_how[how] = by_how.get(how, 0) + 1
    images = _share(sum(by_how.values()), len(imaged))
    images["by_how"] = dict(sorted(by_how.items()))
    return {
        "spec": _share(sum(1 for r in runs if r.get("pipeline_spec")), len(runs)),
        "images": images,
        "components": _share(sum(1 for t in containers if _code_pinned(t)), len(containers)),
        "inputs": _share(
            sum(1 for i in inputs if i.get("digest") or i.get("snapshots")), len(inputs)
        ),
        "outputs": _share(sum(1 for o in outputs if o.get("digest")), len(outputs)),
    }


def _code_pinned(task: Mapping[str, Any]) -> bool:
    if task.get("source_digest"):
        return True
    image = task.get("image")
    return image is not None and bool(image.get("digest"))


def last_rebuild(store: MetadataStore, model_id: str) -> dict[str, Any] | None:
    """The model's most recent recorded rebuild (by when it finished), or None."""
    mine = [r for r in list_rebuilds(store, model_id) if r.result.model == model_id]
    if not mine:
        return None
    rebuild = mine[0]  # newest first
    result = rebuild.result
    return {
        "id": rebuild.id,
        "plan": result.plan_id,
        "environment": result.environment,
        "runner": result.runner,
        "verdict": result.verdict.value,
        "caveats": list(result.caveats),
        "gaps": list(result.gaps),
        "finished": result.finished,
        "hermetic": result.hermetic,
    }


def scorecard(
    plan: Mapping[str, Any],
    store: MetadataStore,
    environments: Mapping[str, EnvironmentConfig],
    home: Path,
    client: RegistryClient,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The scorecard of a plan (see the module's docstring)."""
    model = str(plan["model"]["artifact"])
    images = list(plan.get("images", []))
    places: dict[str, Any] = {}
    for name, env in environments.items():
        if progress is not None:
            progress(name)
        places[name] = {
            "runner": env.runner,
            "registry": env.registry,
            "store": env.store,
            "pipeline_root": env.pipeline_root,
            "images": image_presence(env, images, client),
            "inputs": input_presence(env, plan.get("inputs", []), home),
        }
    rebuild = last_rebuild(store, model)
    return {
        "model": model,
        "plan": plan["id"],
        "pinned": pinned_shares(plan),
        "gaps": list(plan.get("gaps", [])),
        "hermetic": not plan.get("gaps"),
        "environments": places,
        "last_rebuild": rebuild,
        "last_rebuild_summary": NEVER if rebuild is None else _summary(rebuild),
    }


def _summary(rebuild: Mapping[str, Any]) -> str:
    text = f"{rebuild['verdict']} in {rebuild['environment']} ({rebuild['id']})"
    if rebuild["caveats"]:
        text += f"; caveats: {'; '.join(str(c) for c in rebuild['caveats'])}"
    if rebuild["gaps"]:
        text += f"; gaps: {'; '.join(str(g) for g in rebuild['gaps'])}"
    if not rebuild["hermetic"]:
        text += "; not hermetic"
    return text
