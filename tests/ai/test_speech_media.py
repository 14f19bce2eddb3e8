"""The files voice steps read and write: data: URLs, the app's own files, channel references, and
addresses a user may not make the server open."""

from __future__ import annotations

from pathlib import Path

import pytest

from nodes.api import Media, MediaError
from runtime.media import LocalMedia


async def test_saved_files_have_unguessable_addresses_and_read_back(tmp_path: Path) -> None:
    files = LocalMedia.for_data_folder(tmp_path, base_url="https://bots.example/")
    one = await files.save(b"OggS one", kind="audio", mime="audio/ogg", duration=1.5)
    two = await files.save(b"OggS two", kind="audio", mime="audio/ogg")
    assert one.url.startswith("https://bots.example/media/") and one.url.endswith(".ogg") and one.url != two.url
    assert one.duration == 1.5 and (tmp_path / "media" / one.url.rsplit("/", 1)[1]).is_file()
    assert await files.read(one) == b"OggS one"
    assert await files.read(Media("audio", one.url.removeprefix("https://bots.example"))) == b"OggS one"
    with pytest.raises(MediaError, match="too big"):
        await files.read(one, limit=3)


async def test_data_urls_and_broken_ones(tmp_path: Path) -> None:
    files = LocalMedia(tmp_path)
    assert await files.read(Media("audio", "data:audio/ogg;base64,T2dnUw==")) == b"OggS"
    with pytest.raises(MediaError, match="damaged"):
        await files.read(Media("audio", "data:audio/ogg;base64,@@@"))


@pytest.mark.parametrize(
    "url",
    ["/media/../chatloom.db", "/media/secret", "file:///etc/passwd", "ftp://x/y", "http://127.0.0.1:9/a.ogg"],
)
async def test_addresses_that_are_not_ours_to_open(tmp_path: Path, url: str) -> None:
    with pytest.raises(MediaError):
        await LocalMedia(tmp_path).read(Media("audio", url))


async def test_channel_references_go_through_the_registered_reader(tmp_path: Path) -> None:
    files = LocalMedia(tmp_path)

    async def fetch(media: Media) -> bytes:
        if media.url.endswith("/gone"):
            raise RuntimeError("400 Bad Request: invalid file_id")
        return b"voice " + media.url.encode()

    files.register("telegram-file", fetch)
    assert await files.read(Media("audio", "telegram-file:bot/abc")) == b"voice telegram-file:bot/abc"
    with pytest.raises(MediaError, match="could not be fetched from the chat app"):
        await files.read(Media("audio", "telegram-file:bot/gone"))
