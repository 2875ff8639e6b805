"""gs:// paths and prefix copies (the client is Cloud Storage's; here a folder stands in)."""

from pathlib import Path

from kernel.uris import download_prefix, split


def test_split():
    assert split("gs://bucket/a/b/model.txt") == ("bucket", "a/b/model.txt")
    assert split("gs://bucket") == ("bucket", "")


class FolderBucketClient:
    """list_blobs/download_to_filename over a local folder laid out as bucket/object."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def list_blobs(self, bucket: str, prefix: str):
        base = self.root / bucket
        for path in sorted(base.rglob("*")):
            name = str(path.relative_to(base))
            if path.is_file() and name.startswith(prefix):
                yield _Blob(path, name)


class _Blob:
    def __init__(self, path: Path, name: str) -> None:
        self.path, self.name = path, name

    def download_to_filename(self, filename: str) -> None:
        Path(filename).write_bytes(self.path.read_bytes())


def test_download_prefix_keeps_the_layout_below_the_prefix(tmp_path):
    store = tmp_path / "store" / "models"
    (store / "run-1" / "model").mkdir(parents=True)
    (store / "run-1" / "model" / "model.txt").write_text("trees")
    (store / "run-1" / "model" / "model.json").write_text("{}")
    (store / "run-2").mkdir()
    (store / "run-2" / "other.txt").write_text("not copied")
    out = download_prefix(
        FolderBucketClient(tmp_path / "store"), "gs://models/run-1/model", tmp_path / "out"
    )
    assert sorted(p.name for p in out.iterdir()) == ["model.json", "model.txt"]
    assert (out / "model.txt").read_text() == "trees"
