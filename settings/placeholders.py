"""The example values the settings files ship with, which a real deployment must replace.

The repository's envs describe an example platform (its projects do not exist), so synth,
`cdktf synth`/`deploy` and `mlops doctor` name every value still equal to its example.
"""

from __future__ import annotations

from settings.model import Platform

# env → {dotted field: the shipped example value}
EXAMPLES: dict[str, dict[str, str]] = {
    "dev": {"project_number": "100000000001"},
    "staging": {"project_number": "100000000002"},
    "prod": {"project_number": "100000000003"},
}
EXAMPLE_GITHUB = ("census-ml", "census-mlops")
EXAMPLE_EMAIL_DOMAIN = "@example.com"


def placeholders(platform: Platform) -> list[str]:
    """One line per value still at its example: the file, the field and what to put there."""
    found = []
    for env, s in platform.envs.items():
        where = f"envs/{env}/settings.toml"
        if s.project_number == EXAMPLES.get(env, {}).get("project_number"):
            found.append(
                f"{where}: project_number is the example {s.project_number}; put the number of "
                f"project {s.project_id} (gcloud projects describe {s.project_id})"
            )
        if (s.cloudbuild.github_owner, s.cloudbuild.github_repo) == EXAMPLE_GITHUB:
            found.append(
                f"{where}: cloudbuild.github_owner/github_repo are the example "
                f"{'/'.join(EXAMPLE_GITHUB)}; put your repository"
            )
        if s.monitoring and any(e.endswith(EXAMPLE_EMAIL_DOMAIN) for e in s.monitoring.emails):
            found.append(f"{where}: monitoring.emails holds example addresses; put your on-call")
    return found
