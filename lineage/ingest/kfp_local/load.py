"""Loading ``FILE.py:PIPELINE``, compiling it, and typing ``--arg name=value`` by the spec."""

from __future__ import annotations

import importlib.util
import json
import sys
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lineage.errors import BadInputError
from lineage.ingest import ir
from lineage.ingest.spec import PipelineSpecInfo, load_spec_documents, parse_spec


@dataclass(frozen=True, slots=True)
class CompiledPipeline:
    file: Path
    attribute: str
    yaml_text: str  # exactly what kfp.compiler wrote
    spec: dict[str, Any]
    platform_spec: dict[str, Any] | None
    info: PipelineSpecInfo


def split_target(target: str) -> tuple[Path, str]:
    """``path/to/file.py:pipeline`` -> (path, attribute)."""
    file, sep, attribute = target.rpartition(":")
    if not sep or not file or not attribute.isidentifier():
        raise BadInputError(f"{target!r}: expected FILE.py:PIPELINE, e.g. examples/training.py:p")
    path = Path(file)
    if path.suffix != ".py":
        raise BadInputError(f"{file}: expected a Python file (FILE.py:PIPELINE)")
    if not path.is_file():
        raise BadInputError(f"{file}: no such file")
    return path, attribute


def load_pipeline(path: Path, attribute: str) -> Any:
    """The pipeline object ``attribute`` of the module at ``path`` (imported under a fresh name)."""
    name = f"_lineage_pipeline_{uuid.uuid4().hex}"
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise BadInputError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(module_spec)
    # Registered for good: dataclasses, typing and the compiler look modules up by name.
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:  # the user's module: any error is bad input, named
        sys.modules.pop(name, None)
        raise BadInputError(f"{path}: importing it failed: {type(exc).__name__}: {exc}") from exc
    if not hasattr(module, attribute):
        raise BadInputError(f"{path}: has no attribute {attribute!r}")
    pipeline = getattr(module, attribute)
    from kfp.dsl import graph_component

    if not isinstance(pipeline, graph_component.GraphComponent):
        raise BadInputError(
            f"{path}:{attribute} is a {type(pipeline).__name__}, not a pipeline "
            "(decorate it with @dsl.pipeline)"
        )
    return pipeline


def compile_pipeline(path: Path, attribute: str) -> CompiledPipeline:
    """Compile with kfp.compiler to the YAML a user would upload, and parse that YAML.

    Going through the YAML (not the in-memory proto) makes the version id the
    one ``lineage ingest spec`` gives the same compiled file.
    """
    pipeline = load_pipeline(path, attribute)
    from kfp import compiler

    with tempfile.TemporaryDirectory(prefix="lineage-compile-") as tmp:
        out = Path(tmp) / "pipeline.yaml"
        try:
            compiler.Compiler().compile(pipeline, package_path=str(out))
        except Exception as exc:  # the SDK's own validation errors
            raise BadInputError(
                f"{path}:{attribute}: compiling failed: {type(exc).__name__}: {exc}"
            ) from exc
        text = out.read_text(encoding="utf-8")
    spec, platform = load_spec_documents(text)
    info = parse_spec(spec, platform, source=f"{path}:{attribute}")
    return CompiledPipeline(path, attribute, text, spec, platform, info)


def _convert(name: str, raw: str, kind: str) -> Any:
    try:
        if kind == "NUMBER_INTEGER":
            return int(raw)
        if kind == "NUMBER_DOUBLE":
            return float(raw)
        if kind == "BOOLEAN":
            lowered = raw.strip().lower()
            if lowered not in ("true", "false"):
                raise ValueError("expected true or false")
            return lowered == "true"
        if kind in ("LIST", "STRUCT"):
            value = json.loads(raw)
            wanted = list if kind == "LIST" else dict
            if not isinstance(value, wanted):
                raise ValueError(f"expected a JSON {'list' if kind == 'LIST' else 'object'}")
            return value
    except ValueError as exc:
        raise BadInputError(f"--arg {name}={raw!r}: not a {kind}: {exc}") from exc
    return raw


def parse_arguments(spec: Mapping[str, Any], raw: Sequence[str]) -> dict[str, Any]:
    """``name=value`` pairs typed by the pipeline's input definitions; required ones checked."""
    root = ir.mapping(spec.get("root"), "root")
    inputs = ir.mapping(root.get("inputDefinitions"), "root.inputDefinitions")
    params = ir.mapping(inputs.get("parameters"), "root.inputDefinitions.parameters")
    artifacts = ir.mapping(inputs.get("artifacts"), "root.inputDefinitions.artifacts")
    values: dict[str, Any] = {}
    for item in raw:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise BadInputError(f"--arg {item!r}: expected name=value")
        if name in artifacts:
            raise BadInputError(f"--arg {name}: an artifact input cannot be given on the CLI")
        if name not in params:
            known = ", ".join(sorted(params)) or "none"
            raise BadInputError(f"--arg {name}: the pipeline has no such input (inputs: {known})")
        kind = str(ir.mapping(params[name], name).get("parameterType", "STRING"))
        values[name] = _convert(name, text, kind)
    missing = [
        name
        for name, p in sorted(params.items())
        if name not in values
        and isinstance(p, Mapping)
        and "defaultValue" not in p
        and not p.get("isOptional")
    ]
    if missing:
        raise BadInputError(f"the pipeline needs --arg for: {', '.join(missing)}")
    if artifacts:
        raise BadInputError(
            f"the pipeline takes artifact inputs ({', '.join(sorted(artifacts))}), "
            "which a local run cannot be given"
        )
    return values
