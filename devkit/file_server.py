"""A loopback HTTP file server standing in for Dify's file server (FILES_URL), or for a hostile one: fixed routes,
redirects, bodies without a length, a stall before the answer, a body that drips out byte by byte, and any headers
(a `Content-Encoding` the body really has, or claims to have).

    with FileServer() as files:
        url = files.serve("/files/a.png", png_bytes, "image/png")
"""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from devkit.emulator.handler import LoopbackHTTPServer

_PIECE = 65536


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    chunked: bool = False  # no Content-Length: the size is known only by reading
    stall: float = 0.0  # seconds of silence before the status line
    drip: float = 0.0  # seconds between single bytes of the body: each read succeeds, the whole never ends


class FileServer:
    """HTTP on 127.0.0.1 (HTTPS with `ssl_context`) serving fixed routes; `hits` records the paths asked for and
    `headers` the headers of each request."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: list[str] = []
        self.headers: list[dict[str, str]] = []
        self._stopping = threading.Event()
        handler = type("Handler", (_Handler,), {"files": self})
        self._server = LoopbackHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._scheme = "https" if ssl_context else "http"
        if ssl_context is not None:
            self._server.socket = ssl_context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def origin(self) -> str:
        return f"{self._scheme}://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.origin + path

    def serve(self, path: str, body: bytes, content_type: str = "application/octet-stream", **kwargs: Any) -> str:
        headers = {"Content-Type": content_type, **kwargs.pop("headers", {})}
        self.routes[path] = Route(body=body, headers=headers, **kwargs)
        return self.url(path)

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        self.routes[path] = Route(status=status, headers={"Location": location})
        return self.url(path)

    def __enter__(self) -> FileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()  # ends stalls and drips at once
        self._server.shutdown()
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    files: FileServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        path = self.path.partition("?")[0]
        self.files.hits.append(path)
        self.files.headers.append({name.lower(): value for name, value in self.headers.items()})
        route = self.files.routes.get(path, Route(status=404, body=b"not found"))
        if route.stall and self.files._stopping.wait(route.stall):
            return
        self.send_response(route.status)
        for name, value in route.headers.items():
            self.send_header(name, value)
        try:
            if route.chunked or route.drip:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self._send_chunks(route)
            else:
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                self.wfile.write(route.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send_chunks(self, route: Route) -> None:
        size = 1 if route.drip else _PIECE
        for start in range(0, len(route.body), size):
            if route.drip and self.files._stopping.wait(route.drip):
                self.close_connection = True
                return
            piece = route.body[start : start + size]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\n\r\n")
