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


@pytest.mark.parametrize("url", ["/media/../chatloom.db", "/media/secret", "file:///etc/passwd", "ftp://x/y"])
async def test_addresses_that_are_not_ours_to_open(tmp_path: Path, url: str) -> None:
    with pytest.raises(MediaError, match=r"no longer here|cannot open"):
        await LocalMedia(tmp_path).read(Media("audio", url))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/a.ogg",
        "http://localhost/a.ogg",
        "http://10.0.0.1/a.ogg",
        "http://169.254.169.254/latest/meta-data",
        "http://100.100.100.200/latest/meta-data",  # shared address space: a cloud's metadata service
        "http://[::1]/a.ogg",
        "https://user@192.168.1.1/a.ogg",
        "http://2130706433/a.ogg",
        "http://[::ffff:127.0.0.1]/a.ogg",
        "http://metadata.google.internal/computeMetadata/v1/",
    ],
)
async def test_private_network_addresses_are_refused(tmp_path: Path, url: str) -> None:
    with pytest.raises(MediaError, match="not one I may open"):
        await LocalMedia(tmp_path).read(Media("audio", url))


async def test_the_checked_address_is_the_one_connected_to(tmp_path: Path) -> None:
    """A second DNS lookup could answer a private address (rebinding): the download goes to the
    address that was checked, with the original host name in the Host header."""
    from runtime.outbound.addresses import Allowance
    from runtime.outbound.guard import Guard
    from tests.fakes.echo_api import EchoApi
    from tests.fakes.network import FixedResolver

    with EchoApi() as api:
        port = int(api.url("/text").rsplit(":", 1)[1].split("/")[0])
        resolver = FixedResolver({"files.example": [["127.0.0.1"], ["169.254.169.254"]]})
        guard = Guard(resolver=resolver, allow=Allowance.parse(f"127.0.0.1:{port}"))  # as if it were public
        files = LocalMedia(tmp_path, guard=guard)
        data = await files.read(Media("audio", f"http://files.example:{port}/text"))
        assert data and api.seen[-1].headers["host"] == f"files.example:{port}"
        assert resolver.asked == ["files.example"]
        with pytest.raises(MediaError, match="not one I may open"):
            await files.read(Media("audio", f"http://files.example:{port}/text"))  # the next lookup is checked
        with pytest.raises(MediaError, match="too big"):
            await files.read(Media("audio", f"http://127.0.0.1:{port}/big?bytes=2000"), limit=1000)


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
