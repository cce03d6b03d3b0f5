"""``lineage ingest kfp``: run-level facts and pipeline versions from the KFP v2beta1 API."""

from __future__ import annotations

from pathlib import Path

import typer

from lineage.cli.common import handle_errors, open_store
from lineage.cli.digest_options import DIGEST, ENDPOINT, MAX_SIZE, digest_options, digesting
from lineage.cli.ingest import app
from lineage.cli.ingest_output import finish, progress_bar
from lineage.errors import ConfigError


def read_token(token: str | None, token_file: Path | None) -> str | None:
    if token and token_file:
        raise ConfigError("give --token or --token-file, not both")
    if token_file is None:
        return token
    try:
        text = token_file.expanduser().read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"cannot read the token file {token_file}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"the token file {token_file} is not UTF-8 text (byte {exc.start} cannot be decoded)"
        ) from exc
    if not text:
        raise ConfigError(f"the token file {token_file} is empty")
    return text


@app.command("kfp")
@handle_errors
def ingest_kfp(
    endpoint: str = typer.Option(
        ..., "--endpoint", help="The KFP API server, e.g. http://ml-pipeline.kubeflow:8888."
    ),
    namespace: str | None = typer.Option(
        None, "--namespace", "-n", help="Read one namespace (multi-user KFP)."
    ),
    token: str | None = typer.Option(None, "--token", help="A bearer token for the API."),
    token_file: Path | None = typer.Option(
        None, "--token-file", help="A file holding the bearer token (a service account token)."
    ),
    retries: int = typer.Option(
        4, "--retries", min=0, help="Retries of a request the server answers 5xx or 429."
    ),
    timeout: float = typer.Option(30.0, "--timeout", min=0.1, help="Seconds per request."),
    full: bool = typer.Option(False, "--full", help="Ignore the watermark and read everything."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    digest_artifacts: bool = DIGEST,
    digest_max_size: str = MAX_SIZE,
    artifact_endpoint: str | None = ENDPOINT,
) -> None:
    """Record pipeline versions, and join run state, parameters, experiment and schedule
    onto the runs' lineage (native tasks and artifacts too, on releases without MLMD)."""
    from lineage.ingest.kfp_api.client import KfpApiClient
    from lineage.ingest.kfp_api.importer import KfpApiIngest

    options = digest_options(digest_artifacts, digest_max_size, artifact_endpoint)
    with (
        KfpApiClient(
            endpoint, token=read_token(token, token_file), retries=retries, timeout_s=timeout
        ) as client,
        open_store() as opened,
        digesting(opened, options, as_json) as digest,
    ):
        ingest = KfpApiIngest(client, digest.store, namespace=namespace, full=full)
        with progress_bar("runs", as_json or digest.progress is not None) as progress:
            report = ingest.run(digest.progress or progress)
    finish(report, as_json, ingest.has_records)
