import shutil
from pathlib import Path

import pytest

from kernel.errors import UserError
from settings import ENV_NAMES, ENVS_DIR, Settings, load_platform, load_settings


@pytest.fixture
def envs_copy(tmp_path: Path) -> Path:
    for env in ENV_NAMES:
        (tmp_path / env).mkdir()
        shutil.copy(ENVS_DIR / env / "settings.toml", tmp_path / env / "settings.toml")
    return tmp_path


def edit(envs_dir: Path, env: str, old: str, new: str) -> Path:
    path = envs_dir / env / "settings.toml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))
    return path


def test_real_settings_load_and_derive_cross_tenant_names(platform):
    staging, prod = platform["staging"], platform["prod"]
    assert platform.peer_of("staging") is prod and platform.peer_of("prod") is staging
    assert platform.peer_of("dev") is None
    assert prod.service_account_email("deployer") == (
        "census-deployer@census-ml-prod.iam.gserviceaccount.com"
    )
    assert staging.key_id("vertex") == (
        "projects/census-ml-staging/locations/europe-west4/keyRings/census-ml/cryptoKeys/vertex"
    )
    assert staging.rotation_period == "7776000s"
    assert staging.image_repository_url() == (
        "europe-west4-docker.pkg.dev/census-ml-staging/census-images"
    )
    with pytest.raises(ValueError, match="prod has no Artifact Registry"):
        prod.image_repository_url()


@pytest.mark.parametrize(
    ("env", "old", "new", "message"),
    [
        (
            "prod",
            "rotation_days = 90",
            "rotation_days = 120",
            r"kms\.rotation_days: Input should be less than or equal to 90 \(got 120\)",
        ),
        (
            "staging",
            'models = "census-ml-staging-models"',
            'models = "Census_Models!"',
            r"buckets\.models: 'Census_Models!' is not a valid Cloud Storage bucket name",
        ),
        (
            "staging",
            'retraining_time_zone = "Etc/UTC"',
            'retraining_time_zone = "Mars/Olympus_Mons"',
            r"retraining_time_zone: 'Mars/Olympus_Mons' is not an IANA time zone",
        ),
        (
            "staging",
            'training_machine_type = "n1-standard-4"',
            'training_machine_type = "; rm -rf /"',
            r"training_machine_type: String should match pattern",
        ),
        (
            "prod",
            'machine_type = "n1-standard-2"',
            'machine_type = "N1 standard"',
            r"rollout\.machine_type: String should match pattern",
        ),
        (
            "prod",
            'project_number = "100000000003"',
            'project_number = "12ab"',
            r"project_number: String should match pattern",
        ),
        (
            "prod",
            "canary_percent = 10",
            "canary_percent = 0",
            r"serving\.rollout\.canary_percent: Input should be greater than or equal to 1",
        ),
        (
            "prod",
            'serving = "census-serving"',
            'trainer = "census-serving"',
            r"service_accounts for a prod tenant must be exactly deployer, infra, planner, "
            r"reader, serving",
        ),
        (
            "prod",
            "fnlwgt = 0.15",
            "salary = 0.15",
            r"monitoring\.feature_thresholds: unknown feature\(s\) salary",
        ),
        (
            "prod",
            'emails = ["ml-platform-oncall@example.com"]',
            'emails = ["oncall"]',
            r"monitoring\.emails: 'oncall' is not an email address",
        ),
        (
            "prod",
            "[serving.canary]",
            "[serving.canary_analysis]",
            r"serving\.canary: Field required; serving\.canary_analysis: Extra inputs",
        ),
        (
            "staging",
            "[pipeline.bars]",
            "[pipeline.thresholds]",
            r"pipeline\.bars: Field required",
        ),
        (
            "staging",
            'retraining_schedule = "0 3 * * 1"',
            "",
            r"pipeline\.retraining_schedule: a non-prod tenant retrains on a cron",
        ),
        (
            "staging",
            'env = "staging"',
            'env = "prod"',
            r"env: says 'prod' but the file is in envs/staging/",
        ),
        ("staging", "keys = { storage", 'keys = { bigq = "x", storage', r"kms\.keys\.bigq"),
        (
            "prod",
            'models = "census-ml-prod-models"',
            'models = "census-ml-prod-models"\npipeline_root = "census-ml-prod-root"',
            r"buckets\.pipeline_root: not used in a prod tenant",
        ),
        (
            "staging",
            'templates = "census-ml-staging-templates"\n',
            "",
            r"buckets\.templates: required in a non-prod tenant",
        ),
        (
            "prod",
            "[cloudbuild]",
            '[artifact_registry]\nimages = "i"\ntemplates = "t"\n\n[cloudbuild]',
            r"\[artifact_registry\]: not used \(prod serves the images staging built\)",
        ),
        (
            "dev",
            'artifacts = "artifacts" }',
            'artifacts = "artifacts", pubsub = "pubsub" }',
            r"kms\.keys must be exactly artifacts, bigquery, storage, vertex for the interactive",
        ),
    ],
)
def test_bad_settings_name_the_file_and_field(envs_copy, env, old, new, message):
    path = edit(envs_copy, env, old, new)
    with pytest.raises(UserError, match=message) as info:
        load_settings(env, envs_copy)
    assert str(info.value).startswith(f"{path}: ")


def test_missing_field_and_bad_toml(envs_copy):
    path = edit(envs_copy, "dev", 'region = "europe-west4"\n', "")
    with pytest.raises(UserError, match=rf"{path}: region: Field required"):
        load_settings("dev", envs_copy)
    edit(envs_copy, "prod", "[kms]", "[kms")
    with pytest.raises(UserError, match=r"settings\.toml: not valid TOML"):
        load_settings("prod", envs_copy)


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        (lambda p: p.write_bytes(p.read_bytes().replace(b"europe-west4", b"europe-w\xe9st4", 1)),
         r"not UTF-8 \(byte 0xe9 at offset \d+\); TOML files are UTF-8"),
        (lambda p: p.write_text(p.read_text() + "deep = " + "[" * 3000 + "]" * 3000 + "\n"),
         "nested too deeply to be a settings file"),
        (lambda p: (p.unlink(), p.mkdir()), "a folder stands where the settings file should be"),
    ],
)  # fmt: skip
def test_a_damaged_settings_file_is_one_line_naming_it(envs_copy, damage, said):
    """A non-UTF-8 byte, a deeply nested value and a folder in place of the file were
    tracebacks (UnicodeDecodeError, RecursionError, IsADirectoryError)."""
    path = envs_copy / "dev" / "settings.toml"
    damage(path)
    with pytest.raises(UserError, match=said) as info:
        load_settings("dev", envs_copy)
    assert str(info.value).startswith(f"{path}: ")


def test_peers_must_name_each_other(envs_copy):
    edit(envs_copy, "prod", 'peer = "staging"', 'peer = "dev"')
    with pytest.raises(UserError, match="staging: peer prod does not name staging back"):
        load_platform(envs_copy)


def test_unknown_env_and_missing_file(envs_copy):
    with pytest.raises(UserError, match="unknown env 'qa'"):
        load_settings("qa", envs_copy)
    (envs_copy / "dev" / "settings.toml").unlink()
    with pytest.raises(UserError, match=r"settings\.toml: settings file not found"):
        load_settings("dev", envs_copy)


def test_each_role_has_exactly_its_sections(platform):
    staging = platform["staging"].model_dump()
    with pytest.raises(ValueError, match=r"\[monitoring\]: not used in a non-prod tenant"):
        Settings.model_validate({**staging, "monitoring": platform["prod"].monitoring.model_dump()})
    prod = platform["prod"].model_dump()
    with pytest.raises(ValueError, match=r"\[serving\]: required in a prod tenant"):
        Settings.model_validate({**prod, "serving": None})


def test_approval_mode_needs_prods_approvers_and_its_key(tmp_path):
    from simulation.modes import approval_envs

    envs = approval_envs(tmp_path / "ok")
    assert load_platform(envs).prod.cloudbuild.approvers == ("user:release-approver@example.com",)
    edit(envs, "prod", 'approvers = ["user:release-approver@example.com"]', "approvers = []")
    with pytest.raises(UserError, match=r"envs/prod/settings.toml: cloudbuild\.approvers: .*"):
        load_platform(envs)
    envs = approval_envs(tmp_path / "no-key")
    edit(envs, "prod", ', pubsub = "pubsub" }', " }")
    with pytest.raises(UserError, match=r'kms\.keys\.pubsub: .*add pubsub = "pubsub"'):
        load_platform(envs)


def test_canary_mode_refuses_what_only_approval_uses(envs_copy):
    edit(envs_copy, "prod", 'vertex = "vertex" }', 'vertex = "vertex", pubsub = "p" }')
    with pytest.raises(UserError, match=r"kms\.keys\.pubsub: only used when .*remove it"):
        load_platform(envs_copy)


def test_canary_mode_takes_approvers_for_prods_infrastructure_applies(envs_copy):
    edit(
        envs_copy, "prod", "[cloudbuild]\n", '[cloudbuild]\napprovers = ["group:ops@example.com"]\n'
    )
    assert load_platform(envs_copy).prod.cloudbuild.approvers == ("group:ops@example.com",)


@pytest.mark.parametrize(
    ("env", "approvers", "message"),
    [
        ("prod", '["serviceAccount:robot@p.iam.gserviceaccount.com"]', "approvers"),
        ("prod", '["release-approver@example.com"]', "approvers"),
        ("staging", '["user:a@example.com"]', "only prod's deploys are approved"),
    ],
)
def test_approvers_are_people_in_prod(envs_copy, env, approvers, message):
    edit(envs_copy, env, "[cloudbuild]\n", f"[cloudbuild]\napprovers = {approvers}\n")
    with pytest.raises(UserError, match=message):
        load_settings(env, envs_copy)
