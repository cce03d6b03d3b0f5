"""The options every Kubernetes-reading command takes, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Namespace = Annotated[
    str | None,
    typer.Option("--namespace", "-n", help="One namespace (default: all the account may list)."),
]
Kubeconfig = Annotated[
    Path | None,
    typer.Option("--kubeconfig", help="A kubeconfig (default: in-cluster, else $KUBECONFIG)."),
]
KubeContext = Annotated[str | None, typer.Option("--context", help="The kubeconfig context.")]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable report.")]
