"""Files users send and files the bot makes (`MediaFiles` in nodes/api.py).

The bot's own files (spoken replies) are kept under `<data folder>/media/` with unguessable names
and served by the runtime's app at `/media/<name>` (see runtime/api.py). A file a user sent is read
from wherever its Media points: a `data:` URL (the web chat and the builder's test chat), one of
the app's own media addresses, a channel's file reference such as `telegram-file:<account>/<id>`
(through the reader the channels register for that scheme), or http(s) with a size limit. Private
and local network addresses are refused unless allowed, so a URL a user makes up cannot reach
into the server's network.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import mimetypes
import os
import re
import secrets
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import unquote_to_bytes, urlsplit, urlunsplit

import httpx
from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse

from nodes.api import Media, MediaError, MediaFiles, MediaKind

Reader = Callable[[Media], Awaitable[bytes]]
ROUTE = "/media/"
NAME = re.compile(r"^[A-Za-z0-9_-]{32}\.[a-z0-9]{1,5}$")
EXTENSIONS = {"audio/ogg": ".ogg", "audio/opus": ".ogg", "audio/mpeg": ".mp3", "audio/webm": ".webm"}
TIMEOUT = 20.0


def too_big(limit: int) -> MediaError:
    return MediaError(f"That file is too big (at most {limit // 1_000_000} MB).")


class LocalMedia:
    """MediaFiles in a folder on this machine."""

    def __init__(
        self, folder: Path, *, base_url: str = "", allow_private: bool = False, timeout: float = TIMEOUT
    ) -> None:
        """`base_url`: the server's public address, so platforms and browsers can fetch saved files
        ("" keeps addresses relative, which the builder and the web chat on the same server use);
        `allow_private`: read http(s) files on local and private networks too."""
        self.folder = Path(folder)
        self.base_url = base_url.rstrip("/")
        self.allow_private = allow_private
        self.timeout = timeout
        self.readers: dict[str, Reader] = {}

    @classmethod
    def for_data_folder(cls, path: Path, *, base_url: str = "") -> LocalMedia:
        return cls(Path(path) / "media", base_url=base_url)

    def register(self, scheme: str, reader: Reader) -> None:
        """Read `<scheme>:…` addresses with `reader` (a channel's own file references)."""
        self.readers[scheme] = reader

    # the bot's files

    async def save(
        self, data: bytes, *, kind: MediaKind, mime: str, name: str = "", duration: float | None = None
    ) -> Media:
        bare = mime.partition(";")[0].strip()
        ext = EXTENSIONS.get(bare) or mimetypes.guess_extension(bare) or ".bin"
        stored = secrets.token_urlsafe(24) + ext  # 32 characters: the address is the only key
        await asyncio.to_thread(self._write, stored, data)
        return Media(
            kind=kind, url=f"{self.base_url}{ROUTE}{stored}", name=name or stored, mime=mime, duration=duration
        )

    def _write(self, stored: str, data: bytes) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.folder / f".{stored}.part"
        partial.write_bytes(data)
        os.replace(partial, self.folder / stored)

    def path_of(self, url: str) -> Path | None:
        """The file behind one of our own media addresses (absolute or relative), else None."""
        path = urlsplit(url).path if url.startswith(("http://", "https://")) else url
        if url.startswith(("http://", "https://")) and not (self.base_url and url.startswith(self.base_url + ROUTE)):
            return None
        if not path.startswith(ROUTE):
            return None
        name = path.removeprefix(ROUTE)
        return self.folder / name if NAME.match(name) else None

    # files users send

    async def read(self, media: Media, *, limit: int = 25_000_000) -> bytes:
        url = media.url
        if url.startswith("data:"):
            data = _data_url(url)
        elif (own := self.path_of(url)) is not None:
            if not own.is_file():
                raise MediaError("That file is no longer here.")
            if own.stat().st_size > limit:
                raise too_big(limit)
            data = await asyncio.to_thread(own.read_bytes)
        elif (scheme := url.split(":", 1)[0]) in self.readers:
            try:
                data = await self.readers[scheme](media)
            except MediaError:
                raise
            except Exception as exc:  # a platform that no longer has it, a network error
                raise MediaError("That file could not be fetched from the chat app.") from exc
        elif url.startswith(("http://", "https://")):
            data = await self._download(url, limit)
        else:
            raise MediaError("I cannot open that file.")
        if len(data) > limit:
            raise too_big(limit)
        return data

    async def _download(self, url: str, limit: int) -> bytes:
        parts = urlsplit(url)
        host = parts.hostname or ""
        request_url, extensions, headers = url, {}, {}
        if not self.allow_private:
            address = await _public_address(host)
            # connect to the address that was checked (a second lookup could give another: DNS rebinding)
            shown = f"[{address}]" if ":" in address else address
            netloc = shown + (f":{parts.port}" if parts.port else "")
            request_url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
            headers["host"] = parts.netloc.rpartition("@")[2]
            if parts.scheme == "https":
                extensions["sni_hostname"] = host  # TLS still checks the certificate against the name
        try:
            async with (
                httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as client,
                client.stream("GET", request_url, headers=headers, extensions=extensions) as response,
            ):
                if response.status_code != 200:
                    raise MediaError("That file could not be downloaded.")
                chunks, size = [], 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise too_big(limit)
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.HTTPError:
            raise MediaError("That file could not be downloaded.") from None


def _data_url(url: str) -> bytes:
    head, sep, payload = url.partition(",")
    if not sep:
        raise MediaError("That file is damaged.")
    if head.endswith(";base64"):
        try:
            return base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise MediaError("That file is damaged.") from None
    return unquote_to_bytes(payload)


async def _public_address(host: str) -> str:
    """The address to fetch `host` from, if every address it resolves to is a public one;
    MediaError for loopback, private, shared (100.64/10, where some clouds keep their metadata
    service), link-local or reserved addresses, and for names that do not resolve."""
    refused = MediaError("That file's address is not one I may open.")
    if not host:
        raise refused
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        raise MediaError("That file could not be downloaded.") from None
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not addresses or not all(a.is_global for a in addresses):
        raise refused
    return str(addresses[0])


def media_routes(files: Callable[[], MediaFiles | None]) -> APIRouter:
    """GET /media/<name>: a file the bot made (a spoken reply), by its unguessable name."""
    router = APIRouter()

    @router.get(ROUTE + "{name}", include_in_schema=False, response_model=None)
    async def media(name: str) -> FileResponse | JSONResponse:
        found = files()
        path = found.path_of(ROUTE + name) if isinstance(found, LocalMedia) else None
        if path is None or not path.is_file():
            return JSONResponse({"detail": "There is no such file."}, status_code=404)
        return FileResponse(path, headers={"cache-control": "private, max-age=86400"})

    return router
