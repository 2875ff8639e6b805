"""`docker`, `gcloud` and `terraform` in a simulated build (simulation/ci/tools/ puts them on
the step's PATH): each does to the simulated cloud what the real tool does to Google's, with
the token the metadata server gives the build's identity, as the real tools get theirs on
Cloud Build. A refused call prints the API's message the way the tool does and exits 1.

    docker build --target T -t TAG DIR | push TAG | inspect --format '{{index .RepoDigests 0}}' TAG
    gcloud storage cp SRC... DST | storage cat URL | builds triggers run NAME [--sha S]
           [--region R] [--project P] [--substitutions K=V,...]
    terraform init [-lockfile=readonly] | plan [-lock=false] [-out F] | show F | apply F

Anything else is refused, naming what this stand-in does.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import sys
from pathlib import Path
from urllib.parse import quote

import httpx

MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
DIGEST_FORMAT = "{{index .RepoDigests 0}}"


class Refused(Exception):
    """The tool's error line; exit 1."""


# The cloud ------------------------------------------------------------------------------


def base(service: str) -> str:
    template = os.environ.get("MLOPS_API_ENDPOINT", "")
    if "{service}" not in template:
        raise Refused("this stand-in runs only in a simulated build (no MLOPS_API_ENDPOINT)")
    return template.format(service=service).rstrip("/")


def token() -> str:
    host = os.environ["GCE_METADATA_HOST"]
    url = f"http://{host}/computeMetadata/v1/instance/service-accounts/default/token"
    answer = httpx.get(url, headers={"Metadata-Flavor": "Google"}, timeout=30)
    answer.raise_for_status()
    return answer.json()["access_token"]


def call(verb: str, url: str, **kwargs) -> httpx.Response:
    headers = {"authorization": f"Bearer {token()}", **kwargs.pop("headers", {})}
    return httpx.request(verb, url, headers=headers, timeout=600, **kwargs)


def message(answer: httpx.Response) -> str:
    try:
        return answer.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return answer.text


# docker ---------------------------------------------------------------------------------


def image_parts(tag: str) -> tuple[str, str, str, str, str]:
    """LOCATION-docker.pkg.dev/PROJECT/REPO/IMAGE:TAG → (host, location, path, image, tag)."""
    ref, _, version = tag.rpartition(":")
    host, _, path = ref.partition("/")
    if not host.endswith("-docker.pkg.dev") or path.count("/") < 2 or not version:
        raise Refused(f"{tag}: not an Artifact Registry image LOCATION-docker.pkg.dev/P/R/I:TAG")
    project, repository, image = path.split("/", 2)
    return host, host.removesuffix("-docker.pkg.dev"), f"{project}/{repository}", image, version


def config_digest(context: Path, target: str, sources: tuple[str, ...]) -> str:
    """An image's identity: its target and the bytes of every file the Dockerfile copies."""
    digest = hashlib.sha256(f"target {target}\n".encode())
    files = {context / "Dockerfile"}
    for source in sources:
        root = context / source.removesuffix("/**")
        files |= {p for p in root.rglob("*") if p.is_file()} if source.endswith("/**") else {root}
    for path in sorted(f for f in files if f.is_file() and "__pycache__" not in f.parts):
        digest.update(f"{path.relative_to(context)}\n".encode() + path.read_bytes())
    return "sha256:" + digest.hexdigest()


def manifest(config: str) -> bytes:
    body = {"schemaVersion": 2, "mediaType": MEDIA_TYPE, "layers": [],
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config, "size": 0}}  # fmt: skip
    return json.dumps(body, sort_keys=True).encode()


def _images() -> tuple[Path, dict]:
    """The build's Docker daemon: what it built and pushed, kept across the build's steps."""
    path = Path(os.environ.get("MLOPS_SIM_DOCKER", ".docker-images.json"))
    return path, json.loads(path.read_text()) if path.exists() else {}


def docker(args: list[str]) -> str:
    from infra.cicd import dockerfile_inputs

    path, images = _images()
    if args[:1] == ["build"]:
        target, tag, context = _option(args, "--target"), _option(args, "-t"), Path(args[-1])
        if not target or not tag:
            raise Refused("docker build: the simulation's needs --target and -t")
        dockerfile = (context / "Dockerfile").read_text()
        if not any(line.split()[-1] == target for line in dockerfile.splitlines()
                   if line.upper().startswith("FROM ") and " AS " in line.upper()):  # fmt: skip
            raise Refused(f"failed to solve: target stage {target!r} could not be found")
        config = config_digest(context, target, dockerfile_inputs(context))
        images[tag] = {"config": config, "RepoDigests": []}
        path.write_text(json.dumps(images))
        return f"Successfully built {config[7:19]}\nSuccessfully tagged {tag}"
    if args[:1] == ["push"]:
        tag = args[1]
        if tag not in images:
            raise Refused(f"An image does not exist locally with the tag: {tag}")
        host, location, path_in, image, version = image_parts(tag)
        body = manifest(images[tag]["config"])
        url = f"{base('docker')}/{location}/v2/{path_in}/{image}/manifests/{version}"
        answer = call("PUT", url, content=body, headers={"content-type": MEDIA_TYPE})
        if answer.status_code != 201:
            raise Refused(f"denied: {message(answer)}")
        digest = answer.headers["Docker-Content-Digest"]
        images[tag]["RepoDigests"].append(f"{host}/{path_in}/{image}@{digest}")
        path.write_text(json.dumps(images))
        return f"{version}: digest: {digest} size: {len(body)}"
    if args[:1] == ["inspect"] and _option(args, "--format") == DIGEST_FORMAT:
        tag = args[-1]
        if tag not in images:
            raise Refused(f"Error: No such object: {tag}")
        if not images[tag]["RepoDigests"]:
            raise Refused('template: :1:2: executing "" at <index .RepoDigests 0>: error '
                          "calling index: index out of range: 0")  # fmt: skip
        return images[tag]["RepoDigests"][0]
    raise Refused(f"docker {' '.join(args[:2])}: the simulation's docker does build, push and "
                  f"inspect --format '{DIGEST_FORMAT}'")  # fmt: skip


# gcloud ---------------------------------------------------------------------------------


def split_url(url: str) -> tuple[str, str]:
    bucket, _, name = url.removeprefix("gs://").partition("/")
    return bucket, name


def storage(command: str, verb: str, path: str, **kwargs) -> httpx.Response:
    """One Storage JSON API call; a refusal as `gcloud storage COMMAND` prints it."""
    answer = call(verb, f"{base('storage')}{path}", **kwargs)
    if answer.status_code != 200:
        raise Refused(f"ERROR: (gcloud.storage.{command}) HTTPError {answer.status_code}: "
                      f"{message(answer)}")  # fmt: skip
    return answer


def download(command: str, bucket: str, name: str) -> httpx.Response:
    path = f"/storage/v1/b/{bucket}/o/{quote(name, safe='')}"
    return storage(command, "GET", path, params={"alt": "media"})


def storage_cp(sources: list[str], target: str) -> list[str]:
    into = target.endswith("/") or len(sources) > 1
    done = []
    for source in sources:
        destination = target + Path(split_url(source)[1] or source).name if into else target
        if source.startswith("gs://"):
            Path(destination).write_bytes(download("cp", *split_url(source)).content)
        else:
            bucket, name = split_url(destination)
            storage("cp", "POST", f"/upload/storage/v1/b/{bucket}/o",
                    params={"uploadType": "media", "name": name},
                    content=Path(source).read_bytes())  # fmt: skip
        done.append(f"Copying {source} to {destination}")
    return done


def storage_cat(url: str) -> str:
    bucket, pattern = split_url(url)
    names = [pattern]
    if "*" in pattern:
        listed = storage("cat", "GET", f"/storage/v1/b/{bucket}/o",
                         params={"prefix": pattern.split("*", 1)[0]})  # fmt: skip
        names = sorted(o["name"] for o in listed.json().get("items", [])
                       if fnmatch.fnmatchcase(o["name"], pattern))  # fmt: skip
        if not names:
            raise Refused(f"ERROR: (gcloud.storage.cat) The following URLs matched no objects "
                          f"or files: {url}")  # fmt: skip
    return "".join(download("cat", bucket, name).text for name in names)


def run_request(args: list[str], default_project: str) -> tuple[str, dict]:
    """`gcloud builds triggers run NAME ...` → (URL path, body) of triggers.run."""
    name = args[0]
    project = _option(args, "--project") or default_project
    region = _option(args, "--region") or "global"
    source: dict = {}
    if _option(args, "--sha"):
        source["commitSha"] = _option(args, "--sha")
    if _option(args, "--branch"):
        source["branchName"] = _option(args, "--branch")
    pairs = _option(args, "--substitutions")
    if pairs:
        source["substitutions"] = dict(p.split("=", 1) for p in pairs.split(","))
    path = f"/v1/projects/{project}/locations/{region}/triggers/{name}:run"
    return path, {"projectId": project, "triggerId": name, "source": source}


def gcloud(args: list[str]) -> str:
    if args[:2] == ["storage", "cp"]:
        *sources, target = [a for a in args[2:] if not a.startswith("-")]
        return "\n".join(storage_cp(sources, target))
    if args[:2] == ["storage", "cat"]:
        return storage_cat(args[2])
    if args[:3] == ["builds", "triggers", "run"]:
        path, body = run_request(args[3:], os.environ.get("GOOGLE_CLOUD_PROJECT", ""))
        answer = call("POST", base("cloudbuild") + path, json=body)
        if answer.status_code != 200:
            raise Refused(f"ERROR: (gcloud.builds.triggers.run) {message(answer)}")
        build = answer.json()["metadata"]["build"]
        return f"Created build {build['id']} ({build['status']}) of {args[3]}"
    raise Refused(f"gcloud {' '.join(args[:3])}: the simulation's gcloud does storage cp, "
                  "storage cat and builds triggers run")  # fmt: skip


# terraform ------------------------------------------------------------------------------


def init(folder: Path, args: list[str]) -> str:
    """What `init -lockfile=readonly` checks here: a lock file naming every provider."""
    config = json.loads((folder / "cdk.tf.json").read_text())
    lock = folder / ".terraform.lock.hcl"
    if "-lockfile=readonly" in args and not lock.exists():
        raise Refused("Error: Provider dependency changes detected: -lockfile=readonly and no "
                      ".terraform.lock.hcl")  # fmt: skip
    text = lock.read_text() if lock.exists() else ""
    for name, spec in config["terraform"].get("required_providers", {}).items():
        source = spec["source"] if "/" in spec["source"] else f"hashicorp/{spec['source']}"
        if f'provider "registry.terraform.io/{source}"' not in text:
            raise Refused(f"Error: Inconsistent dependency lock file: provider {name} "
                          f"({source}) is not in .terraform.lock.hcl")  # fmt: skip
    (folder / ".terraform").mkdir(exist_ok=True)
    return "Terraform has been successfully initialized!"


def terraform(args: list[str]) -> str:
    folder = Path.cwd()
    command = args[0] if args else ""
    if command == "init":
        return init(folder, args)
    if command == "show":
        return json.loads(Path(args[-1]).read_text())["text"]
    if command not in ("plan", "apply"):
        raise Refused(f"terraform {command}: the simulation's terraform does init, plan, show "
                      "and apply of a saved plan")  # fmt: skip
    if not (folder / ".terraform").is_dir():
        raise Refused('Error: Backend initialization required, please run "terraform init"')
    url = f"{base('terraform')}/v1/stacks/{folder.name}:{command}"
    if command == "plan":
        body = {"config": json.loads((folder / "cdk.tf.json").read_text()),
                "lock": "-lock=false" not in args}  # fmt: skip
    else:
        body = {"saved": json.loads(Path(args[-1]).read_text())["plan"]}
    answer = call("POST", url, json=body)
    if answer.status_code != 200:
        raise Refused(f"Error: {message(answer)}")
    done = answer.json()
    out = next((a.split("=", 1)[1] for a in args if a.startswith("-out=")), None)
    if out and done["ok"]:
        Path(out).write_text(json.dumps({"plan": done["saved"], "text": done["text"]}))
    if not done["ok"]:
        raise Refused(done["text"])
    return done["text"]


def _option(args: list[str], name: str) -> str | None:
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


TOOLS = {"docker": docker, "gcloud": gcloud, "terraform": terraform}


def main(argv: list[str]) -> int:
    tool, args = argv[0], argv[1:]
    try:
        print(TOOLS[tool](args), flush=True)
        return 0
    except Refused as exc:
        print(exc, file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
