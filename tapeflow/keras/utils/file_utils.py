"""`keras.utils.get_file`: verified, atomic, cached downloads and safe archive extraction."""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.parse
import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import tarfile
    import zipfile

# NOTE: hashlib, tarfile, zipfile and the HTTP modules are imported where they are used: together
# they cost ~20 ms, which `import tapeflow.keras` should not pay.

__all__ = ["DownloadError", "datasets_dir", "extract_archive", "get_file", "hash_file", "validate_file"]

_CHUNK = 1 << 20  # bytes read per step while downloading or hashing


class DownloadError(OSError):
    """A file could not be fetched (offline, server error, or an interrupted transfer)."""


# ---------------------------------------------------------------------------------------------
# Cache locations


def keras_home() -> str:
    """The Keras cache root: `$KERAS_HOME` if set, else `~/.keras`."""
    return os.path.expanduser(os.environ.get("KERAS_HOME") or os.path.join("~", ".keras"))


def datasets_dir() -> str:
    """The datasets cache folder: `$TAPEFLOW_DATA_DIR` if set, else `<keras_home>/datasets`.

    Files a Keras user has already downloaded to `~/.keras/datasets` are therefore reused.
    """
    override = os.environ.get("TAPEFLOW_DATA_DIR")
    if override:
        return os.path.abspath(os.path.expanduser(override))
    return os.path.join(keras_home(), "datasets")


# ---------------------------------------------------------------------------------------------
# Hashing


def _resolve_algorithm(algorithm: str, file_hash: str | None = None) -> str:
    algorithm = (algorithm or "auto").lower()
    if algorithm in ("sha256", "md5"):
        return algorithm
    if algorithm != "auto":
        raise ValueError(
            f"get_file: hash_algorithm must be 'auto', 'sha256' or 'md5', received {algorithm!r}"
        )
    if file_hash is None or len(file_hash) == 64:
        return "sha256"
    if len(file_hash) == 32:
        return "md5"
    raise ValueError(
        "get_file: cannot tell the hash algorithm from a hash of "
        f"{len(file_hash)} characters (expected 64 for SHA-256 or 32 for MD5): {file_hash!r}"
    )


def hash_file(fpath: str | os.PathLike, algorithm: str = "sha256", chunk_size: int = _CHUNK) -> str:
    """Hex digest of a file's bytes.

    Args:
        fpath: path of the file.
        algorithm: `"sha256"`, `"md5"` or `"auto"` (SHA-256).
        chunk_size: bytes read at a time.

    Returns:
        The lowercase hex digest.
    """
    import hashlib

    hasher = hashlib.new(_resolve_algorithm(algorithm))
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(
    fpath: str | os.PathLike, file_hash: str, algorithm: str = "auto", chunk_size: int = _CHUNK
) -> bool:
    """Whether a file's SHA-256 or MD5 digest equals `file_hash` (`"auto"`: told by its length)."""
    algorithm = _resolve_algorithm(algorithm, file_hash)
    return hash_file(fpath, algorithm, chunk_size) == str(file_hash).lower()


# ---------------------------------------------------------------------------------------------
# Archive extraction


def _inside(root: str, name: str) -> bool:
    """Whether `root/name`, fully resolved, stays inside the resolved `root`."""
    target = os.path.realpath(os.path.join(root, name))
    return os.path.commonpath([root, target]) == root


def _check_tar_members(archive: tarfile.TarFile, root: str, archive_path: str) -> list[tarfile.TarInfo]:
    members = archive.getmembers()
    for m in members:
        problem = None
        if os.path.isabs(m.name) or m.name.startswith(("/", "\\")):
            problem = "an absolute path"
        elif not _inside(root, m.name):
            problem = "a path outside the target folder"
        elif m.issym():
            # A symlink resolves relative to the folder holding it.
            link_target = os.path.join(os.path.dirname(m.name), m.linkname)
            if os.path.isabs(m.linkname) or not _inside(root, link_target):
                problem = f"a symbolic link to {m.linkname!r} outside the target folder"
        elif m.islnk():
            if os.path.isabs(m.linkname) or not _inside(root, m.linkname):
                problem = f"a hard link to {m.linkname!r} outside the target folder"
        elif not (m.isfile() or m.isdir()):
            problem = "a device, FIFO or other special file"
        if problem:
            raise ValueError(
                f"Refusing to extract {archive_path!r}: member {m.name!r} is {problem}. "
                "The archive may be corrupted or malicious; nothing was extracted."
            )
    return members


def _check_zip_members(archive: zipfile.ZipFile, root: str, archive_path: str) -> None:
    for info in archive.infolist():
        name = info.filename
        drive = len(name) > 1 and name[1] == ":"
        if os.path.isabs(name) or name.startswith(("/", "\\")) or drive:
            problem = "an absolute path"
        elif not _inside(root, name):
            problem = "a path outside the target folder"
        else:
            continue
        raise ValueError(
            f"Refusing to extract {archive_path!r}: member {name!r} is {problem}. "
            "The archive may be corrupted or malicious; nothing was extracted."
        )


def extract_archive(
    file_path: str | os.PathLike, path: str | os.PathLike = ".", archive_format: Any = "auto"
) -> bool:
    """Extract a tar (plain, gz, bz2, xz) or zip archive into `path`, refusing unsafe members.

    Every member is checked before anything is written: absolute paths, `..` escapes, links
    pointing outside `path` and special files make the whole archive refused (`ValueError`).
    Members are extracted into a temporary sibling folder, which is then moved into place, so an
    interrupted extraction never leaves a half-filled `path`. An existing `path` is replaced.

    Args:
        file_path: the archive.
        path: the folder to extract into.
        archive_format: `"auto"` (`["tar", "zip"]`), `"tar"`, `"zip"`, a list of these, or `None`.

    Returns:
        True when the file matched a format and was extracted, False otherwise.
    """
    import tarfile
    import zipfile

    if archive_format is None:
        return False
    if archive_format == "auto":
        archive_format = ["tar", "zip"]
    if isinstance(archive_format, str):
        archive_format = [archive_format]
    file_path = os.fspath(file_path)
    path = os.path.abspath(os.fspath(path))
    for kind in archive_format:
        if kind == "tar":
            matches = tarfile.is_tarfile(file_path)
        elif kind == "zip":
            matches = zipfile.is_zipfile(file_path)
        else:
            raise ValueError(f"extract_archive: unknown archive_format {kind!r}; expected 'tar' or 'zip'")
        if not matches:
            continue
        parent = os.path.dirname(path)
        os.makedirs(parent, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.", suffix=".partial", dir=parent)
        try:
            root = os.path.realpath(staging)
            if kind == "tar":
                with tarfile.open(file_path) as archive:
                    members = _check_tar_members(archive, root, file_path)
                    kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
                    archive.extractall(staging, members=members, **kwargs)
            else:
                with zipfile.ZipFile(file_path) as archive:
                    _check_zip_members(archive, root, file_path)
                    archive.extractall(staging)
            if os.path.lexists(path):
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                else:
                    os.remove(path)
            os.replace(staging, path)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return True
    return False


# ---------------------------------------------------------------------------------------------
# Download


class _Progress:
    """The download progress bar Keras's `get_file` shows: a `Progbar` over the bytes (steps),
    drawn at the chunks' sizes and completed once at the end."""

    def __init__(self, total: int | None) -> None:
        from tapeflow.keras.utils.progbar import Progbar

        self.bar = Progbar(total)
        self.finished = False

    def update(self, done: int, final: bool = False) -> None:
        if self.bar.target is None:
            self.bar.update(done)
        elif done < self.bar.target and not final:
            self.bar.update(done)
        elif not self.finished:
            self.bar.update(self.bar.target)
            self.finished = True


def _offline_message(fname: str, origin: str, target: str, reason: object, file_hash: str | None,
                     algorithm: str) -> str:
    check = f" It must match {algorithm} {file_hash}." if file_hash else ""
    return (
        f"Could not download {fname!r} from {origin} ({reason}). If this machine is offline, fetch "
        f"that URL elsewhere and place the file at {target} (folder: {os.path.dirname(target)}).{check}"
    )


def _download(origin: str, target: str, file_hash: str | None, algorithm: str) -> None:
    """Stream `origin` into a temporary file next to `target`, verify it, then rename it."""
    import hashlib
    import http.client
    import urllib.error
    import urllib.request

    fname = os.path.basename(target)
    folder = os.path.dirname(target)
    try:
        os.makedirs(folder, exist_ok=True)
        fd, partial = tempfile.mkstemp(prefix=f".{fname}.", suffix=".partial", dir=folder)
    except OSError as e:
        raise DownloadError(
            f"Cannot write the download of {fname!r} into {folder} ({e.strerror or e}). "
            "Pass a writable `cache_dir`, or set TAPEFLOW_DATA_DIR to a writable folder."
        ) from e
    hasher = hashlib.new(algorithm) if file_hash else None
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                request = urllib.request.Request(origin, headers={"User-Agent": "tapeflow"})
                with urllib.request.urlopen(request, timeout=60) as response:
                    length = response.headers.get("Content-Length")
                    total = int(length) if length and length.isdigit() else None
                    progress = _Progress(total)
                    done = 0
                    progress.update(0)  # (urlretrieve's first report, which Keras draws)
                    while True:
                        chunk = response.read(_CHUNK)
                        if not chunk:
                            break
                        out.write(chunk)
                        if hasher is not None:
                            hasher.update(chunk)
                        done += len(chunk)
                        progress.update(done)
                    progress.update(done, final=True)
            except urllib.error.HTTPError as e:
                raise DownloadError(
                    _offline_message(fname, origin, target, f"HTTP {e.code} {e.reason}", file_hash, algorithm)
                ) from e
            except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
                reason = getattr(e, "reason", e)
                raise DownloadError(
                    _offline_message(fname, origin, target, reason, file_hash, algorithm)
                ) from e
            except http.client.HTTPException as e:
                raise DownloadError(
                    f"Download of {fname!r} from {origin} was cut short ({type(e).__name__})."
                ) from e
            if total is not None and done != total:
                raise DownloadError(
                    f"Download of {fname!r} from {origin} was cut short: received {done} of {total} bytes."
                )
        if hasher is not None and hasher.hexdigest() != file_hash.lower():
            raise ValueError(
                f"Incomplete or corrupted download of {fname!r} from {origin}: its {algorithm} is "
                f"{hasher.hexdigest()}, expected {file_hash.lower()}. The file was discarded."
            )
        os.replace(partial, target)
    except BaseException:
        # NOTE: never leave a half-written or unverified file behind, even on Ctrl-C.
        try:
            os.remove(partial)
        except OSError:
            pass
        raise


def get_file(
    fname: str | os.PathLike | None = None,
    origin: str | None = None,
    untar: bool = False,
    md5_hash: str | None = None,
    file_hash: str | None = None,
    cache_subdir: str = "datasets",
    hash_algorithm: str = "auto",
    extract: bool = False,
    archive_format: Any = "auto",
    cache_dir: str | os.PathLike | None = None,
    force_download: bool = False,
) -> str:
    """Download a file from a URL unless it is already cached, verify it and return its path.

    The file lands in `<cache_dir>/<cache_subdir>/<fname>`, by default `~/.keras/datasets/<fname>`
    (`$KERAS_HOME` replaces `~/.keras`; `$TAPEFLOW_DATA_DIR`, when set, replaces the whole
    `datasets` folder). Downloads stream to a temporary name in the same folder with a progress
    bar; the file is renamed into place only after its hash matched, so no half-written file is
    ever left behind. A cached file is re-checked whenever a hash is given and downloaded again
    if it does not match. Archives (`tar`, `tar.gz`, `tar.bz2`, `zip`) can be extracted; members
    that would land outside the target folder are refused.

    Args:
        fname: local file name; `None` takes the last part of `origin`'s path. With `extract`, a
            name without a dot names the extraction folder (the archive is `<fname>_archive`).
        origin: the URL to download from.
        untar: deprecated; same as `extract=True, archive_format="tar"`.
        md5_hash: deprecated; same as `file_hash=md5_hash, hash_algorithm="md5"`.
        file_hash: expected SHA-256 (64 hex digits) or MD5 (32) of the file.
        cache_subdir: folder under `cache_dir` (an absolute path is used as is).
        hash_algorithm: `"auto"`, `"sha256"` or `"md5"`.
        extract: extract the archive and return the extraction folder.
        archive_format: `"auto"`, `"tar"`, `"zip"`, a list of them, or `None`.
        cache_dir: cache root; default `$KERAS_HOME` or `~/.keras`.
        force_download: download even when a cached file exists.

    Returns:
        The path of the file, or of the extraction folder when extracting.

    Raises:
        DownloadError: the file is not cached and cannot be downloaded; the message names the
            file and the folder to place it in by hand.
        ValueError: the downloaded file does not match `file_hash`, or an archive is unsafe.

    Example:
        >>> path = get_file("mnist.npz", origin="https://example.org/mnist.npz",
        ...                 file_hash="731c5ac6...")  # doctest: +SKIP
    """
    # 1. Resolve the arguments Keras allows in several spellings.
    if origin is None:
        raise ValueError('get_file: please specify the "origin" argument (URL of the file to download).')
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    algorithm = _resolve_algorithm(hash_algorithm, file_hash)
    if file_hash is not None:
        file_hash = str(file_hash).strip().lower()

    # 2. Where the file lives.
    if cache_dir is None and cache_subdir == "datasets":
        datadir = datasets_dir()
    else:
        base = keras_home() if cache_dir is None else os.path.expanduser(os.fspath(cache_dir))
        datadir = os.path.join(base, cache_subdir) if cache_subdir else base
    provided = fname is not None and os.fspath(fname) != ""
    fname = os.fspath(fname) if provided else os.path.basename(urllib.parse.urlsplit(origin).path)
    if not fname:
        raise ValueError(f"get_file: cannot tell a file name from origin {origin!r}; pass `fname`.")
    if os.sep in fname or (os.altsep and os.altsep in fname):
        raise ValueError(
            "get_file: `fname` must be a file name, not a path; pass the folder as `cache_dir`. "
            f"Received fname={fname!r}"
        )
    if extract or untar:
        if provided and "." in fname:
            download_target = os.path.join(datadir, fname)
            extraction_dir = os.path.join(datadir, fname[: fname.find(".")] + "_extracted")
        else:
            extraction_dir = os.path.join(datadir, fname)
            download_target = os.path.join(datadir, fname + "_archive")
    else:
        download_target = os.path.join(datadir, fname)

    # 3. Use the cached copy when it is there and (if a hash is given) intact.
    downloaded = False
    if force_download or not os.path.exists(download_target):
        download = True
    elif file_hash is not None and not validate_file(download_target, file_hash, algorithm):
        print(
            f"A local file was found at {download_target}, but its {algorithm} does not match "
            f"{file_hash}; downloading it again."
        )
        download = True
    else:
        download = False

    # 4. Download to a temporary name, verify, rename.
    if download:
        print(f"Downloading data from {origin}")
        _download(origin, download_target, file_hash, algorithm)
        downloaded = True

    # 5. Extract (once; again after a fresh download).
    if extract or untar:
        if untar:
            archive_format = "tar"
        if downloaded or not os.path.isdir(extraction_dir):
            if not extract_archive(download_target, extraction_dir, archive_format):
                warnings.warn(f"get_file: could not extract {download_target!r} as {archive_format!r}.",
                              stacklevel=2)
        return extraction_dir
    return download_target
