"""What a pipeline spec says of each task, as a rebuild needs it.

For each task path: its component and executor, the image its container names, the
digest of a lightweight component's embedded source, the tasks it waits for, whether
its command installs packages when it starts, and whether it is marked
non-deterministic.

A task is marked non-deterministic, by whoever knows it draws on time or an unseeded
random, in either of two ways that the spec keeps:

- the environment variable ``LINEAGE_NON_DETERMINISTIC`` set on its container to
  anything but ``""``, ``0``, ``false`` or ``no``
  (``task.set_env_variable("LINEAGE_NON_DETERMINISTIC", "1")``; kfp.local runs it too);
- the pod annotation or label ``lineage.kfp/non-deterministic`` in the platform spec
  (``kubernetes.add_pod_annotation(task, "lineage.kfp/non-deterministic", "true")``).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lineage.errors import BadInputError
from lineage.ingest import ir
from lineage.model import sha256_hex

NON_DETERMINISTIC_ENV = "LINEAGE_NON_DETERMINISTIC"
NON_DETERMINISTIC_ANNOTATION = "lineage.kfp/non-deterministic"
_FALSE = frozenset({"", "0", "false", "no"})
# Commands that fetch and install software when the container starts: what runs then
# depends on a package index at that moment, not on the image.
_INSTALLERS = re.compile(
    r"\b(?:pip3?\s+install|conda\s+install|mamba\s+install|apt-get\s+install|apk\s+add)\b"
)


@dataclass(frozen=True, slots=True)
class SpecTask:
    path: str
    component: str
    kind: str  # container | importer | dag (or a newer SDK's executor kind)
    executor: str | None = None
    image: str | None = None
    source_digest: str | None = None
    after: tuple[str, ...] = ()  # paths of the tasks it waits for (dependentTasks)
    installs: str | None = None  # the install the command runs at start, if any
    marked: str | None = None  # how it is marked non-deterministic, if it is
    condition: str | None = None
    loop: bool = False


def spec_tasks(
    spec: Mapping[str, Any], platform_spec: Mapping[str, Any] | None, where: str
) -> dict[str, SpecTask]:
    """Every task of the spec by path."""
    executors = ir.executors(spec, where)
    pod_metadata = _pod_metadata(platform_spec)
    out: dict[str, SpecTask] = {}
    for task in ir.walk_tasks(spec, where):
        prefix = f"{task.parent}/" if task.parent else ""
        after = task.spec.get("dependentTasks") or []
        policy = ir.mapping(task.spec.get("triggerPolicy"), f"{where}: task {task.path}")
        common: dict[str, Any] = {
            "path": task.path,
            "component": task.component,
            "after": tuple(sorted(f"{prefix}{key}" for key in after if isinstance(key, str))),
            "condition": policy.get("condition") or None,
            "loop": "parameterIterator" in task.spec or "artifactIterator" in task.spec,
        }
        if "dag" in task.component_spec:
            out[task.path] = SpecTask(kind="dag", **common)
            continue
        label = ir.executor_label(task.component_spec)
        if label is None or label not in executors:
            raise BadInputError(
                f"{where}: task {task.path} runs executor {label!r}, not in the spec"
            )
        executor = ir.mapping(executors[label], f"{where}: executor {label}")
        out[task.path] = _executor_task(executor, label, pod_metadata.get(label, {}), common)
    return out


def _executor_task(
    executor: Mapping[str, Any],
    label: str,
    pod_metadata: Mapping[str, Any],
    common: dict[str, Any],
) -> SpecTask:
    kind = ir.executor_kind(executor)
    if kind != "container":
        return SpecTask(kind=kind, executor=label, **common)
    container = ir.mapping(executor.get("container"), f"executor {label}.container")
    source = ir.lightweight_source(container)
    image = container.get("image")
    return SpecTask(
        kind=kind,
        executor=label,
        image=image if isinstance(image, str) and image else None,
        source_digest=f"sha256:{sha256_hex(source.encode())}" if source else None,
        installs=installs_at_start(container, source),
        marked=_marked(container, pod_metadata),
        **common,
    )


def installs_at_start(container: Mapping[str, Any], source: str | None = None) -> str | None:
    """What a container's command and args install when it starts, as a short text
    (``pip install kfp==2.13.0``; several joined by ``; ``), or None. A lightweight
    component's embedded source is its code, not its start-up, and is not searched."""
    found: list[str] = []
    for part in [*(container.get("command") or []), *(container.get("args") or [])]:
        if not isinstance(part, str) or part == source:
            continue
        for line in part.splitlines():
            for match in _INSTALLERS.finditer(line):
                text = _install_text(match.group(0), line[match.end() :])
                if text not in found:
                    found.append(text)
    return "; ".join(found) or None


def _install_text(verb: str, rest: str) -> str:
    """The verb and the packages that follow it, up to the end of the shell command."""
    try:
        words = shlex.split(rest)
    except ValueError:
        words = rest.split()
    packages: list[str] = []
    for word in words:
        if word in ("&&", "||", ";", "|"):
            break
        if not word.startswith("-"):
            packages.append(word)
    return " ".join([" ".join(verb.split()), *packages])


def _marked(container: Mapping[str, Any], pod_metadata: Mapping[str, Any]) -> str | None:
    for item in container.get("env") or []:
        if isinstance(item, Mapping) and item.get("name") == NON_DETERMINISTIC_ENV:
            value = str(item.get("value", "")).strip().lower()
            if value not in _FALSE:
                return f"environment variable {NON_DETERMINISTIC_ENV}={item.get('value')}"
    for field in ("annotations", "labels"):
        values = pod_metadata.get(field)
        if isinstance(values, Mapping) and NON_DETERMINISTIC_ANNOTATION in values:
            value = str(values[NON_DETERMINISTIC_ANNOTATION]).strip().lower()
            if value not in _FALSE:
                return f"pod {field[:-1]} {NON_DETERMINISTIC_ANNOTATION}"
    return None


def _pod_metadata(platform_spec: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    """Each executor's ``podMetadata`` in a Kubernetes platform spec."""
    if not isinstance(platform_spec, Mapping):
        return {}
    path = ("platforms", "kubernetes", "deploymentSpec", "executors")
    node: Any = platform_spec
    for key in path:
        node = node.get(key) if isinstance(node, Mapping) else None
    if not isinstance(node, Mapping):
        return {}
    out: dict[str, Mapping[str, Any]] = {}
    for label, config in node.items():
        metadata = config.get("podMetadata") if isinstance(config, Mapping) else None
        if isinstance(metadata, Mapping):
            out[str(label)] = metadata
    return out
