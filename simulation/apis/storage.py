"""Cloud Storage (JSON API): buckets, objects, uploads, downloads, copies; CMEK as Google does.

Objects are plain files under <root>/storage/<bucket>/<name>, so a process that mounts that
folder at /gcs sees what Vertex AI's Cloud Storage FUSE mount would show. A write into a
CMEK bucket needs the bucket project's Cloud Storage agent to hold encrypt permission on the
key, in the bucket's location; otherwise it fails as Google fails it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import google_crc32c
from starlette.responses import JSONResponse, Response

from simulation.apis.routing import register, route
from simulation.apis.uploads import Resumable, multipart
from simulation.wire import ApiError

B = r"/storage/v1/b/(?P<bucket>[^/]+)"
OBJECT = B + r"/o/(?P<name>.+)"
UPLOAD = r"/upload/storage/v1/b/(?P<bucket>[^/]+)/o"
DOWNLOAD = r"/download" + OBJECT
COPY = r"/storage/v1/b/(?P<src>[^/]+)/o/(?P<name>.+)/{verb}/b/(?P<dst>[^/]+)/o/(?P<target>.+)"
PRECONDITION = "At least one of the pre-conditions you specified did not hold."
ENCRYPT = "cloudkms.cryptoKeyVersions.useToEncrypt"
DECRYPT = "cloudkms.cryptoKeyVersions.useToDecrypt"


class Storage:
    """Buckets as folders under the simulation's root, and the objects in them."""

    def __init__(self, sim: Any) -> None:
        self.sim = sim
        self.root = self.sim.root / "storage"
        self.resumable = Resumable()
        # an object's generation is its file's mtime in ns, set unique and increasing on
        # each write (the kernel's file clock is coarser than two quick writes)
        self.changing = threading.Lock()
        self.last_generation = 0

        self.sim.read_object = self.read_object
        self.sim.write_object = lambda call, bucket, name, data: self.write(
            call, bucket, name, data
        )

    def bucket_of(self, name: str):
        found = self.sim.world.buckets.get(name)
        if found is None:
            raise ApiError(404, f"The specified bucket does not exist: {name}")
        return found

    def path_of(self, bucket: str, name: str) -> Path:
        path = (self.root / bucket / name).resolve()
        if not str(path).startswith(str((self.root / bucket).resolve()) + "/"):
            raise ApiError(400, f"Invalid object name {name!r}")
        return path

    def resource(self, bucket: str, name: str | None = None) -> str:
        return f"projects/_/buckets/{bucket}" + (f"/objects/{name}" if name else "")

    def use_key(self, call, bucket, permission: str) -> str | None:
        """The bucket's key, after checking its project's storage agent may use it."""
        if not bucket.kms_key:
            return None
        key = self.sim.world.keys.get(bucket.kms_key)
        agent = self.sim.world.storage_agent(bucket.project)
        if key is None or key.location != bucket.location:
            raise ApiError(
                400,
                f"Cloud KMS key {bucket.kms_key} does not exist or is not in the bucket's "
                f"location {bucket.location}.",
            )
        if key.state != "ENABLED":
            raise ApiError(400, f"Cloud KMS key {bucket.kms_key} is {key.state}.")
        if not self.sim.allowed(agent, permission, bucket.kms_key):
            call.entry.checks.append(_agent_check(agent, permission, bucket.kms_key, False))
            raise ApiError(
                403,
                "Permission denied on Cloud KMS key. Please ensure that your Cloud Storage "
                f"service account ({agent}) has been authorized to use this key: "
                f"{bucket.kms_key}",
            )
        call.entry.checks.append(_agent_check(agent, permission, bucket.kms_key, True))
        return f"{bucket.kms_key}/cryptoKeyVersions/1"

    def object_json(self, bucket, name: str, path: Path) -> dict:
        stat = path.stat()
        data = path.read_bytes()
        data_hash = hashlib.md5(data).digest()  # noqa: S324 - GCS's md5Hash
        crc = google_crc32c.value(data).to_bytes(4, "big")
        return {
            "kind": "storage#object",
            "id": f"{bucket.name}/{name}/{stat.st_mtime_ns}",
            "name": name,
            "bucket": bucket.name,
            "generation": str(stat.st_mtime_ns),
            "metageneration": "1",
            "contentType": mimetypes.guess_type(name)[0] or "application/octet-stream",
            "size": str(stat.st_size),
            "md5Hash": base64.b64encode(data_hash).decode(),
            "crc32c": base64.b64encode(crc).decode(),
            "kmsKeyName": f"{bucket.kms_key}/cryptoKeyVersions/1" if bucket.kms_key else None,
            "mediaLink": f"{self.sim.url}/storage/download/storage/v1/b/{bucket.name}/o/"
            f"{quote(name, safe='')}?alt=media",
            "selfLink": f"{self.sim.url}/storage/storage/v1/b/{bucket.name}/o/"
            f"{quote(name, safe='')}",
            "timeCreated": _rfc3339(stat.st_mtime),
            "updated": _rfc3339(stat.st_mtime),
        }

    def write(self, call, bucket_name: str, name: str, data: bytes) -> JSONResponse:
        call.authorize(self.resource(bucket_name, name), "storage.objects.create")
        bucket = self.bucket_of(bucket_name)
        path = self.path_of(bucket_name, name)
        if path.exists():
            call.authorize(self.resource(bucket_name, name), "storage.objects.delete")
        self.use_key(call, bucket, ENCRYPT)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.upload")
        with self.changing:  # the precondition and the write, as one
            self.precondition(call, path)  # refused: nothing written, not even the temp file
            tmp.write_bytes(data)
            tmp.replace(path)
            self.last_generation = max(time.time_ns(), self.last_generation + 1)
            os.utime(path, ns=(self.last_generation, self.last_generation))
        return JSONResponse(self.object_json(bucket, name, path))

    @staticmethod
    def precondition(call, path: Path) -> None:
        """`ifGenerationMatch` as Google checks it: the object's generation now, 0 for an
        object that does not exist; otherwise 412 and nothing done."""
        wanted = call.query.get("ifGenerationMatch")
        if wanted is None:
            return
        current = path.stat().st_mtime_ns if path.is_file() else 0
        if int(wanted) != current:
            raise ApiError(412, PRECONDITION)

    @route("GET", B, "storage.buckets.get")
    def get_bucket(self, call, bucket):
        call.authorize(self.resource(bucket))
        b = self.bucket_of(bucket)
        body = {
            "kind": "storage#bucket",
            "id": b.name,
            "name": b.name,
            "projectNumber": self.sim.world.projects[b.project],
            "location": b.location.upper(),
            "storageClass": "STANDARD",
            "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": True}},
        }
        if b.kms_key:
            body["encryption"] = {"defaultKmsKeyName": b.kms_key}
        return JSONResponse(body)

    @route("GET", B + "/o", "storage.objects.list")
    def list_objects(self, call, bucket):
        call.authorize(self.resource(bucket))
        b = self.bucket_of(bucket)
        prefix = call.query.get("prefix", "")
        base = self.root / bucket
        items = []
        if base.exists():
            for path in sorted(base.rglob("*")):
                name = str(path.relative_to(base))
                if path.is_file() and name.startswith(prefix) and ".upload" not in path.name:
                    items.append(self.object_json(b, name, path))
        return JSONResponse({"kind": "storage#objects", "items": items})

    def existing(self, call, bucket: str, name: str):
        call.authorize(self.resource(bucket, name), "storage.objects.get")
        b = self.bucket_of(bucket)
        path = self.path_of(bucket, name)
        if not path.is_file():
            raise ApiError(404, f"No such object: {bucket}/{name}")
        return b, path

    def read_object(self, call, bucket: str, name: str) -> bytes:
        """An object's bytes as the caller reads them (other services, such as BigQuery's
        load jobs, read Cloud Storage as the caller too)."""
        b, path = self.existing(call, bucket, name)
        self.use_key(call, b, DECRYPT)
        with self.changing:
            self.precondition(call, path)
            return path.read_bytes()

    @route("GET", OBJECT, "storage.objects.get")
    def get_object(self, call, bucket, name):
        if call.query.get("alt") == "media":
            data = self.read_object(call, bucket, name)
            return Response(data, media_type="application/octet-stream")
        b, path = self.existing(call, bucket, name)
        return JSONResponse(self.object_json(b, name, path))

    @route("GET", DOWNLOAD, "storage.objects.get")
    def download(self, call, bucket, name):
        return self.get_object(call, bucket, name)  # the media link always asks for alt=media

    @route("DELETE", OBJECT, "storage.objects.delete")
    def delete(self, call, bucket, name):
        call.authorize(self.resource(bucket, name))
        path = self.path_of(bucket, name)
        with self.changing:
            if not path.is_file():
                raise ApiError(404, f"No such object: {bucket}/{name}")
            self.precondition(call, path)
            path.unlink()
        return Response(status_code=204)

    @route("POST", UPLOAD, "storage.objects.insert")
    def upload(self, call, bucket):
        kind = call.query.get("uploadType", "media")
        if kind == "media":
            return self.write(call, bucket, call.query["name"], call.body)
        if kind == "multipart":
            metadata, data = multipart(call.request.headers["content-type"], call.body)
            return self.write(call, bucket, metadata.get("name") or call.query["name"], data)
        if kind == "resumable":
            return self.resumable.start(
                f"{self.sim.url}/storage/upload/storage/v1/b/{bucket}/o", call.json()
            )
        raise ApiError(400, f"unsupported uploadType {kind}")

    @route("PUT", UPLOAD, "storage.objects.insert")
    def upload_chunk(self, call, bucket):
        done = self.resumable.chunk(call)
        if isinstance(done, Response):
            return done
        metadata, data = done
        return self.write(call, bucket, metadata.get("name") or call.query.get("name"), data)

    def copy(self, call, src, name, dst, target):
        call.authorize(self.resource(src, name), "storage.objects.get")
        source_bucket = self.bucket_of(src)
        path = self.path_of(src, name)
        if not path.is_file():
            raise ApiError(404, f"No such object: {src}/{name}")
        self.use_key(call, source_bucket, DECRYPT)
        return self.write(call, dst, target, path.read_bytes())

    @route("POST", COPY.format(verb="copyTo"), "storage.objects.copy")
    def copy_to(self, call, src, name, dst, target):
        return self.copy(call, src, name, dst, target)

    @route("POST", COPY.format(verb="rewriteTo"), "storage.objects.rewrite")
    def rewrite(self, call, src, name, dst, target):
        response = self.copy(call, src, name, dst, target)
        resource_body = json.loads(response.body)
        size = resource_body["size"]
        return JSONResponse(
            {"kind": "storage#rewriteResponse", "totalBytesRewritten": size, "objectSize": size,
             "done": True, "resource": resource_body}
        )  # fmt: skip


def _agent_check(agent: str, permission: str, key: str, allowed: bool):
    from simulation.wire import Check

    via = "the key's IAM policy" if allowed else "no binding grants it"
    return Check(f"{permission} (as {agent})", key, allowed, via)


def _rfc3339(seconds: float) -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(seconds))


def install(sim: Any) -> None:
    register(sim, "storage", Storage(sim))
