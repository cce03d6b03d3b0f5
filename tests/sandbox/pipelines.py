"""Pipelines for the sandbox tests; every component runs in the image SANDBOX_TEST_IMAGE names.

The image reference (registry/repository@sha256:...) is read when this file is loaded, as
``lineage run`` loads it, so the tests can point the components at the test registry.
"""

import os

from kfp import dsl
from kfp.dsl import Dataset, Input, Model, Output

IMAGE = os.environ.get("SANDBOX_TEST_IMAGE", "localhost/kfp-lineage/sandbox-test:latest")


@dsl.component(base_image=IMAGE)
def make_data(rows: int, data: Output[Dataset]) -> None:
    with open(data.path, "w") as f:
        for i in range(rows):
            f.write(f"{i},{(i * 7) % 11}\n")


@dsl.component(base_image=IMAGE)
def train(data: Input[Dataset], model: Output[Model]) -> None:
    import os

    total = 0
    with open(data.path) as f:
        for line in f:
            total += int(line.split(",")[1])
    env = {k: os.environ.get(k, "") for k in ("PYTHONHASHSEED", "TZ", "LC_ALL", "HOME")}
    env["SOURCE_DATE_EPOCH"] = os.environ.get("SOURCE_DATE_EPOCH", "")
    with open(model.path, "w") as f:
        f.write(f"weights={total}\n")
        f.write(" ".join(f"{k}={v}" for k, v in sorted(env.items())) + "\n")


@dsl.component(base_image=IMAGE)
def evaluate(model: Input[Model]) -> str:
    with open(model.path) as f:
        return f.readline().strip()


@dsl.pipeline(name="sandbox-three-steps")
def three_steps(rows: int = 20) -> None:
    data = make_data(rows=rows)
    trained = train(data=data.outputs["data"])
    evaluate(model=trained.outputs["model"])


@dsl.component(base_image=IMAGE)
def reach_out(port: int) -> str:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=5):
        return "connected"


@dsl.pipeline(name="sandbox-reach-out")
def network(port: int) -> None:
    reach_out(port=port)


@dsl.component(base_image=IMAGE)
def peek(path: str) -> str:
    import os

    return "seen" if os.path.exists(path) else "nothing"


@dsl.pipeline(name="sandbox-peek")
def host_path(path: str) -> None:
    peek(path=path)


@dsl.component(base_image=IMAGE)
def linger(seconds: int) -> None:
    import subprocess

    subprocess.Popen(["sleep", str(seconds)])  # a child the timeout must kill too
    subprocess.run(["sleep", str(seconds)], check=False)


@dsl.pipeline(name="sandbox-linger")
def too_long(seconds: int) -> None:
    linger(seconds=seconds)
