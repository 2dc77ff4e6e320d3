"""The bot's HTTP client for the Bot API: PTB's ``BaseRequest`` on aiohttp instead of httpx.

Under load the event loop spent about half its busy time in httpx/httpcore (pure Python:
connection pool, h11 state machine, per-request locks and events) on sendMessage and
getUpdates. aiohttp parses and writes HTTP in C and is already a dependency (the webhook
server); ``bench/http_calls.py`` measures the two on the same calls. httpx stays only because
PTB imports it.

``AiohttpRequest`` keeps ``HTTPXRequest``'s contract:

* one ``aiohttp.ClientSession`` per request object, opened in ``initialize()`` (a session
  belongs to the running loop, so not in ``__init__``) and closed in ``shutdown()``; PTB may
  initialise a request again after a shutdown, which opens a new one;
* at most ``connection_pool_size`` connections (PTB's builder uses 256 for calls, 1 for
  getUpdates);
* the same four timeouts, defaults and per-call overrides (``DEFAULT_NONE`` means this
  object's own value; getUpdates passes its read timeout plus the long-poll timeout). aiohttp
  names them differently, see ``client_timeout``;
* a failure raises ``telegram.error.TimedOut`` or ``NetworkError`` with the aiohttp exception
  as ``__cause__``, so ``bot.sending.RetryingRequest`` can tell a request that never left
  (``NOT_SENT``) from one whose outcome is unknown;
* files go as ``multipart/form-data`` with the other parameters as form fields, everything
  else as an urlencoded form, as httpx sends them;
* a proxy named by the environment (``HTTPS_PROXY``, ``ALL_PROXY``, ``NO_PROXY``…) is used,
  as httpx does; it is looked up once per host, not on each call (aiohttp's ``trust_env``
  would do that, netrc file included, in a worker thread for every request).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode
from urllib.request import getproxies, proxy_bypass

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

__all__ = ["NOT_SENT", "AiohttpRequest", "client_timeout"]

# aiohttp failures after which the request surely never reached the server: the connection
# could not be made (refused, reset or unreachable while connecting, TLS handshake failed),
# or no connection was had in time (connect timeout, or waiting for a free pooled one).
NOT_SENT: tuple[type[BaseException], ...] = (
    aiohttp.ClientConnectorError,
    aiohttp.ConnectionTimeoutError,
)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _plus(*seconds: float | None) -> float | None:
    """Sum of limits where ``None`` (no limit) in any of them means no limit in all."""
    return None if any(s is None for s in seconds) else sum(seconds)  # type: ignore[arg-type]


def client_timeout(
    read: float | None, write: float | None, connect: float | None, pool: float | None
) -> aiohttp.ClientTimeout:
    """PTB's (httpx's) four timeouts as aiohttp's.

    * ``read`` → ``sock_read``: the longest wait for the next bytes of the response. aiohttp
      starts it once the body is written, as httpx does.
    * ``connect`` → ``sock_connect``: opening a new connection.
    * ``pool`` + ``connect`` → ``connect``: aiohttp's ``connect`` is waiting for a free pooled
      connection *and* opening a new one, so it gets both budgets: the same bound as httpx's
      on the two together, but a wait for the pool alone may use all of it (with the bot's
      256 connections a pool wait is rare). Running out raises ``ConnectionTimeoutError``
      either way: nothing was sent.
    * ``write``: aiohttp has no per-write limit. All four together bound the whole call
      (``total``), so a write that stalls ends by then, as an unknown outcome (a plain
      ``TimeoutError``) like httpx's ``WriteTimeout``. ``None`` anywhere: no such bound.
    """
    return aiohttp.ClientTimeout(
        total=_plus(pool, connect, write, read),
        connect=_plus(pool, connect),
        sock_connect=connect,
        sock_read=read,
    )


class AiohttpRequest(BaseRequest):
    """PTB's HTTP client on aiohttp; the same arguments and defaults as ``HTTPXRequest``."""

    __slots__ = (
        "_connect_timeout",
        "_connection_pool_size",
        "_env_proxies",
        "_form_headers",
        "_headers",
        "_media_write_timeout",
        "_pool_timeout",
        "_proxy_for",
        "_read_timeout",
        "_session",
        "_timeouts",
        "_write_timeout",
    )

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._connection_pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._headers = {"User-Agent": self.USER_AGENT}
        self._form_headers = {**self._headers, **FORM}
        self._session: aiohttp.ClientSession | None = None
        self._env_proxies: dict[str, str] = {}
        self._proxy_for: dict[str, str | None] = {}  # "scheme://host:port" → proxy URL
        # one ClientTimeout per combination a call asks for (a handful: calls, getUpdates)
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout; PTB adds the long-poll timeout to it for getUpdates."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the session (again, after a shutdown)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connection_pool_size),
                cookie_jar=aiohttp.DummyCookieJar(),  # the Bot API sets none
            )
            self._env_proxies = getproxies()
            self._proxy_for.clear()

    async def shutdown(self) -> None:
        """Close the session and its connections; a second call does nothing."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    def _proxy(self, url: str) -> str | None:
        """The environment's proxy for ``url``'s scheme and host, if any (see the module)."""
        origin = url[: url.find("/", url.find("//") + 2)]
        try:
            return self._proxy_for[origin]
        except KeyError:
            scheme, _, netloc = origin.partition("://")
            host = netloc.rpartition("@")[2]
            proxy = self._env_proxies.get(scheme) or self._env_proxies.get("all")
            if proxy and proxy_bypass(host):  # NO_PROXY, with or without the port
                proxy = None
            self._proxy_for[origin] = proxy
            return proxy

    def _timeout(
        self,
        read: ODVInput[float],
        write: ODVInput[float],
        connect: ODVInput[float],
        pool: ODVInput[float],
        has_files: bool,
    ) -> aiohttp.ClientTimeout:
        if isinstance(read, DefaultValue):
            read = self._read_timeout
        if isinstance(write, DefaultValue):
            write = self._media_write_timeout if has_files else self._write_timeout
        if isinstance(connect, DefaultValue):
            connect = self._connect_timeout
        if isinstance(pool, DefaultValue):
            pool = self._pool_timeout
        key = (read, write, connect, pool)
        timeout = self._timeouts.get(key)
        if timeout is None:
            if len(self._timeouts) > 64:  # callers passing ever new values: do not hoard
                self._timeouts.clear()
            timeout = self._timeouts[key] = client_timeout(read, write, connect, pool)
        return timeout

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """One HTTP request; its status and body, or ``TimedOut`` / ``NetworkError``."""
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data and request_data.contains_files else {}
        timeout = self._timeout(
            read_timeout, write_timeout, connect_timeout, pool_timeout, has_files=bool(files)
        )
        data: Any = None
        headers = self._headers
        if files:
            # file names as UTF-8, as httpx sends them (aiohttp would %-escape them otherwise)
            data = aiohttp.FormData(quote_fields=False)
            for name, value in request_data.json_parameters.items():  # type: ignore[union-attr]
                data.add_field(name, value)
            for name, (filename, content, mime_type) in files.items():
                data.add_field(name, content, filename=filename, content_type=mime_type)
        elif request_data is not None and (fields := request_data.json_parameters):
            data = urlencode(fields).encode()
            headers = self._form_headers
        try:
            async with session.request(
                method, url, data=data, headers=headers, timeout=timeout, proxy=self._proxy(url)
            ) as response:
                return response.status, await response.read()
        except aiohttp.ConnectionTimeoutError as error:
            raise TimedOut(
                "Timed out waiting for a connection (a free one from the pool, or a new one): "
                "the request was *not* sent to Telegram"
            ) from error
        except TimeoutError as error:  # sock_read, or the total bound (see above)
            raise TimedOut from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error
