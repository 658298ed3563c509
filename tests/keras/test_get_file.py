"""keras.utils.get_file against a local HTTP server (never the internet)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import os
import socket
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest

from tapeflow.keras.utils import get_file
from tapeflow.keras.utils.file_utils import DownloadError, datasets_dir, extract_archive, hash_file

PAYLOAD = os.urandom(3000) + b"tapeflow"


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):
        if self.path == "/truncated.bin":
            # Announce 1000 bytes, send 100, hang up: a transfer cut short.
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"x" * 100)
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()


@pytest.fixture
def server(tmp_path):
    """(base URL, served folder) of an HTTP server on 127.0.0.1 serving a temporary folder."""
    served = tmp_path / "served"
    served.mkdir()
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Handler, directory=str(served))
    )
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", served
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def dead_origin():
    """A URL on a local port nobody listens on: connecting fails like an offline machine."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/file.bin"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_good_sha256(server, tmp_path, capsys):
    base, served = server
    (served / "data.bin").write_bytes(PAYLOAD)
    cache = tmp_path / "cache"
    path = get_file("data.bin", origin=base + "data.bin", file_hash=_sha256(PAYLOAD), cache_dir=cache)
    assert path == str(cache / "datasets" / "data.bin")
    assert Path(path).read_bytes() == PAYLOAD
    assert _leftovers(cache / "datasets") == ["data.bin"]  # no temporary file left
    out = capsys.readouterr().out
    assert "Downloading data from" in out and f"{len(PAYLOAD)}/{len(PAYLOAD)}" in out  # progress bar
    assert "\u2501" in out and out.rstrip().endswith("us/step")  # Keras's Progbar over the bytes, as Keras


def test_download_md5_and_default_fname(server, tmp_path):
    base, served = server
    (served / "named.txt").write_bytes(PAYLOAD)
    md5 = hashlib.md5(PAYLOAD).hexdigest()
    path = get_file(origin=base + "named.txt", md5_hash=md5, cache_dir=tmp_path, cache_subdir="sub")
    assert path == str(tmp_path / "sub" / "named.txt")
    assert hash_file(path, "md5") == md5


def test_bad_hash_leaves_nothing(server, tmp_path):
    base, served = server
    (served / "data.bin").write_bytes(PAYLOAD)
    with pytest.raises(ValueError, match="sha256"):
        get_file("data.bin", origin=base + "data.bin", file_hash="0" * 64, cache_dir=tmp_path)
    assert _leftovers(tmp_path / "datasets") == []


def test_truncated_transfer_leaves_nothing(server, tmp_path):
    base, _ = server
    with pytest.raises(DownloadError, match="cut short"):
        get_file("t.bin", origin=base + "truncated.bin", cache_dir=tmp_path)
    assert _leftovers(tmp_path / "datasets") == []


def test_http_error_names_status(server, tmp_path):
    base, _ = server
    with pytest.raises(DownloadError, match="404"):
        get_file("missing.bin", origin=base + "missing.bin", cache_dir=tmp_path)
    assert _leftovers(tmp_path / "datasets") == []


def test_cached_file_rechecked_and_redownloaded(server, tmp_path, capsys):
    base, served = server
    (served / "data.bin").write_bytes(PAYLOAD)
    sha = _sha256(PAYLOAD)
    path = get_file("data.bin", origin=base + "data.bin", file_hash=sha, cache_dir=tmp_path)
    Path(path).write_bytes(b"corrupted")
    capsys.readouterr()
    again = get_file("data.bin", origin=base + "data.bin", file_hash=sha, cache_dir=tmp_path)
    assert again == path and Path(path).read_bytes() == PAYLOAD
    assert "does not match" in capsys.readouterr().out


def test_cached_file_used_without_network(tmp_path, dead_origin):
    target = tmp_path / "datasets" / "file.bin"
    target.parent.mkdir()
    target.write_bytes(PAYLOAD)
    path = get_file("file.bin", origin=dead_origin, file_hash=_sha256(PAYLOAD), cache_dir=tmp_path)
    assert path == str(target)
    # Without a hash the cached file is trusted as is (Keras's behaviour).
    target.write_bytes(b"anything")
    assert get_file("file.bin", origin=dead_origin, cache_dir=tmp_path) == str(target)


def test_offline_error_names_file_and_folder(tmp_path, dead_origin):
    sha = _sha256(PAYLOAD)
    with pytest.raises(DownloadError) as info:
        get_file("file.bin", origin=dead_origin, file_hash=sha, cache_dir=tmp_path)
    message = str(info.value)
    folder = str(tmp_path / "datasets")
    assert "'file.bin'" in message and os.path.join(folder, "file.bin") in message and folder in message
    assert sha in message and dead_origin in message
    assert _leftovers(tmp_path / "datasets") == []


def test_force_download(server, tmp_path):
    base, served = server
    (served / "data.bin").write_bytes(PAYLOAD)
    path = get_file("data.bin", origin=base + "data.bin", cache_dir=tmp_path)
    (served / "data.bin").write_bytes(b"new version")
    assert Path(get_file("data.bin", origin=base + "data.bin", cache_dir=tmp_path)).read_bytes() == PAYLOAD
    get_file("data.bin", origin=base + "data.bin", cache_dir=tmp_path, force_download=True)
    assert Path(path).read_bytes() == b"new version"


def test_default_cache_is_tapeflow_data_dir(server, tmp_path, monkeypatch):
    base, served = server
    (served / "data.bin").write_bytes(PAYLOAD)
    monkeypatch.setenv("TAPEFLOW_DATA_DIR", str(tmp_path / "data"))
    assert datasets_dir() == str(tmp_path / "data")
    path = get_file("data.bin", origin=base + "data.bin", file_hash=_sha256(PAYLOAD))
    assert path == str(tmp_path / "data" / "data.bin")
    monkeypatch.delenv("TAPEFLOW_DATA_DIR")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    assert datasets_dir() == str(tmp_path / "kh" / "datasets")


def test_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="origin"):
        get_file("x")
    with pytest.raises(ValueError, match="not a path"):
        get_file(os.path.join("a", "b.bin"), origin="http://127.0.0.1/b.bin", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="12 characters"):
        get_file("b.bin", origin="http://127.0.0.1/b.bin", file_hash="abcdef123456", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="hash_algorithm"):
        get_file("b.bin", origin="http://127.0.0.1/b.bin", hash_algorithm="sha1", cache_dir=tmp_path)


# ---------------------------------------------------------------------------------------------
# Extraction


def _tar_bytes(members: list[tuple[str, bytes | None, str | None]], mode: str = "w:gz") -> bytes:
    """A tar archive; each member is (name, file content, or None with a symlink target)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tar:
        for name, content, link in members:
            info = tarfile.TarInfo(name)
            if link is not None:
                info.type, info.linkname = tarfile.SYMTYPE, link
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def test_extract_tar_gz(server, tmp_path):
    base, served = server
    archive = _tar_bytes([("pkg/a.txt", b"alpha", None), ("pkg/sub/b.txt", b"beta", None)])
    (served / "pkg.tar.gz").write_bytes(archive)
    out = get_file("pkg", origin=base + "pkg.tar.gz", extract=True, file_hash=_sha256(archive),
                   cache_dir=tmp_path)
    assert out == str(tmp_path / "datasets" / "pkg")
    assert (Path(out) / "pkg" / "sub" / "b.txt").read_bytes() == b"beta"
    assert sorted(_leftovers(tmp_path / "datasets")) == ["pkg", "pkg_archive"]
    # A name with an extension keeps it for the archive and extracts to <stem>_extracted.
    out2 = get_file("pkg.tar.gz", origin=base + "pkg.tar.gz", extract=True, cache_dir=tmp_path)
    assert out2 == str(tmp_path / "datasets" / "pkg_extracted")
    assert (Path(out2) / "pkg" / "a.txt").read_bytes() == b"alpha"


def test_extract_zip(server, tmp_path):
    base, served = server
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("inner/c.txt", b"gamma")
    (served / "z.zip").write_bytes(buffer.getvalue())
    out = get_file("z", origin=base + "z.zip", extract=True, cache_dir=tmp_path)
    assert (Path(out) / "inner" / "c.txt").read_bytes() == b"gamma"


@pytest.mark.parametrize(
    "members",
    [
        [("ok.txt", b"fine", None), ("../escaped.txt", b"evil", None)],
        [("ok.txt", b"fine", None), ("/tmp/tapeflow-absolute-escape.txt", b"evil", None)],
        [("link", None, "../../escaped.txt")],
        [("link", None, "/etc/passwd")],
    ],
    ids=["dotdot", "absolute", "symlink-relative", "symlink-absolute"],
)
def test_extract_refuses_escaping_tar_members(server, tmp_path, members):
    base, served = server
    archive = _tar_bytes(members)
    (served / "evil.tar.gz").write_bytes(archive)
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match="Refusing to extract"):
        get_file("evil", origin=base + "evil.tar.gz", extract=True, cache_dir=cache)
    # Nothing was extracted: no target folder, no staging folder, nothing outside.
    assert _leftovers(cache / "datasets") == ["evil_archive"]
    assert not (cache / "escaped.txt").exists() and not (tmp_path / "escaped.txt").exists()
    assert not os.path.exists("/tmp/tapeflow-absolute-escape.txt")


def test_extract_refuses_escaping_zip_member(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok.txt", b"fine")
        zf.writestr("../escaped.txt", b"evil")
    with pytest.raises(ValueError, match=r"\.\./escaped\.txt"):
        extract_archive(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "escaped.txt").exists()
    assert sorted(_leftovers(tmp_path)) == ["evil.zip"]


def test_extract_non_archive_returns_false(tmp_path):
    plain = tmp_path / "plain.bin"
    plain.write_bytes(PAYLOAD)
    assert extract_archive(plain, tmp_path / "out") is False
    assert extract_archive(plain, tmp_path / "out", archive_format=None) is False
