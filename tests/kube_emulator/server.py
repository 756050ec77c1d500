"""The HTTP layer: a threading HTTP/1.1 server (HTTPS when given a TLS context) on 127.0.0.1 that turns
sockets into `Request`s."""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .api import Api
from .faults import RequestLog, RequestRecord
from .protocol import Request, Response


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(
        self, address: tuple[str, int], api: Api, log: RequestLog, tls: ssl.SSLContext | None = None
    ) -> None:
        self.api = api
        self.tls = tls
        self.request_log = log
        self.stopping = False
        self._connections: set[socket.socket] = set()
        self._idle = threading.Condition()
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = self.socket.accept()
        if self.tls is None:
            return connection, address
        # The handshake runs in the connection's own thread (`_Handler.setup`), never in the accept loop.
        return self.tls.wrap_socket(connection, server_side=True, do_handshake_on_connect=False), address

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet for clients that go away or fail the TLS handshake; loud for anything else."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def track(self, connection: socket.socket, add: bool) -> None:
        with self._idle:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)
                self._idle.notify_all()

    def close_connections(self, timeout: float = 5.0) -> None:
        """Shut down open keep-alive and streaming connections and wait for their threads to finish."""
        self.stopping = True
        with self._idle:
            for connection in list(self._connections):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            self._idle.wait_for(lambda: not self._connections, timeout)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: EmulatorHTTPServer

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()  # a failed handshake ends this connection's thread only
            self.request.settimeout(None)
        super().setup()
        # Headers and body go out in separate writes: without NODELAY, Nagle + delayed ACK add ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is the record."""

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _read_body(self) -> bytes:
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        url = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=unquote(url.path),
            query=parse_qs(url.query, keep_blank_values=True),
            headers=self.headers,  # type: ignore[arg-type]
            body=self._read_body(),
        )
        response = self.server.api.handle(request)
        self.server.request_log.add(
            RequestRecord(
                method=request.method,
                path=request.path,
                query=request.query,
                content_type=request.headers.get("Content-Type") or "",
                status=response.status,
                user=request.user.name if request.user else "",
                body=request.body,
            )
        )
        try:
            self._write(response)
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True

    def _client_connected(self) -> bool:
        if self.server.stopping:
            return False
        connection = self.connection
        try:
            if isinstance(connection, ssl.SSLSocket):
                return _tls_peer_open(connection)
            readable, _, _ = select.select([connection], [], [], 0)
            return not readable or bool(connection.recv(1, socket.MSG_PEEK))
        except OSError:
            return False

    def _write(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Cache-Control", "no-cache, private")
        for name, value in response.headers:
            self.send_header(name, value)
        if response.stream is None:
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        chunks = response.stream(self._client_connected)
        try:
            for chunk in chunks:
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()


def _tls_peer_open(connection: ssl.SSLSocket) -> bool:
    """Whether the client of a streaming TLS response is still there. TLS cannot peek, so a readable
    socket is read: a client sends nothing while it reads a stream, so only close_notify or EOF arrives."""
    readable, _, _ = select.select([connection], [], [], 0)
    if not readable and not connection.pending():
        return True
    connection.settimeout(0)
    try:
        return bool(connection.recv(1))
    except ssl.SSLWantReadError:  # part of a record: the peer is still there
        return True
    finally:
        connection.settimeout(None)
