"""Files users send and files the bot makes (`MediaFiles` in nodes/api.py).

The bot's own files (spoken replies) are kept under `<data folder>/media/` with unguessable names
and served by the runtime's app at `/media/<name>` (see runtime/api.py). A file a user sent is read
from wherever its Media points: a `data:` URL (the web chat and the builder's test chat), one of
the app's own media addresses, a channel's file reference such as `telegram-file:<account>/<id>`
(through the reader the channels register for that scheme), or http(s) through the outbound guard
(runtime.outbound), with a size limit: private, local and metadata addresses are refused unless
the server allows them (CHATLOOM_OUTBOUND_ALLOW), so a URL a user makes up cannot reach into the
server's network.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import mimetypes
import os
import re
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import unquote_to_bytes, urlsplit

import httpx
from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse

from nodes.api import HttpRefused, Media, MediaError, MediaFiles, MediaKind
from runtime.outbound.addresses import server_allowance
from runtime.outbound.guard import AnswerTooLarge, Guard

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
        self, folder: Path, *, base_url: str = "", guard: Guard | None = None, timeout: float = TIMEOUT
    ) -> None:
        """`base_url`: the server's public address, so platforms and browsers can fetch saved files
        ("" keeps addresses relative, which the builder and the web chat on the same server use);
        `guard`: the outbound guard that downloads http(s) files (default: the server's allowance)."""
        self.folder = Path(folder)
        self.base_url = base_url.rstrip("/")
        self.guard = guard or Guard(allow=server_allowance(), timeout=timeout)
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
        try:
            response = await self.guard.request("GET", url, max_bytes=limit, timeout=self.timeout)
        except AnswerTooLarge:
            raise too_big(limit) from None
        except HttpRefused:
            raise MediaError("That file's address is not one I may open.") from None
        except httpx.HTTPError:
            raise MediaError("That file could not be downloaded.") from None
        if response.status_code != 200:
            raise MediaError("That file could not be downloaded.")
        return response.content


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
