"""A real MLMD gRPC endpoint for the tests, on loopback.

KFP's metadata-grpc-service is a C++ binary shipped only in a container image,
which cannot run here. This server speaks the same MetadataStoreService
protocol (MLMD's own service descriptor) and answers each call with MLMD's own
C++ store over SQLite, so the product's gRPC backend is exercised end to end
over a real socket: connection, timeouts, status codes and message framing.
"""

from __future__ import annotations

from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from ml_metadata.metadata_store import metadata_store
from ml_metadata.metadata_store.pywrap.metadata_store_extension import (
    metadata_store as serialized,
)
from ml_metadata.proto import metadata_store_pb2 as pb
from ml_metadata.proto import metadata_store_service_pb2 as service_pb

_SERVICE = "ml_metadata.MetadataStoreService"


class MlmdGrpcServer:
    def __init__(self, sqlite_path: Path) -> None:
        config = pb.ConnectionConfig()
        config.sqlite.filename_uri = str(sqlite_path)
        config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
        self._store = metadata_store.MetadataStore(config)
        self._server: grpc.Server | None = None
        self.port = 0

    def _handler(self, method: str) -> grpc.RpcMethodHandler:
        call = getattr(serialized, method)

        def handle(request: bytes, context: grpc.ServicerContext) -> bytes:
            response, error, code = call(self._store._metadata_store, request)
            if code != 0:
                context.abort(grpc.StatusCode(_status(code)), error.decode())
            return bytes(response)

        return grpc.unary_unary_rpc_method_handler(handle)

    def start(self) -> str:
        descriptor = service_pb.DESCRIPTOR.services_by_name["MetadataStoreService"]
        handlers = {
            m.name: self._handler(m.name) for m in descriptor.methods if hasattr(serialized, m.name)
        }
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self._server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(_SERVICE, handlers),)
        )
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=None)


def _status(code: int) -> Any:
    """grpc.StatusCode by its numeric value (MLMD returns absl status codes, the same numbers)."""
    for status in grpc.StatusCode:
        if status.value[0] == code:
            return status.value
    return grpc.StatusCode.UNKNOWN.value
