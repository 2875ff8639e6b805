"""The metadata server a process asks for its identity, one slot per principal."""

from __future__ import annotations

from starlette.responses import JSONResponse, PlainTextResponse

from simulation.wire import ApiError

FLAVOR = {"Metadata-Flavor": "Google"}
SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]


def install(sim) -> None:
    def principal(slot: str, account: str = "default") -> str:
        found = sim.tokens.principal_of_slot(int(slot))
        if found is None or account not in ("default", found):
            raise ApiError(404, f"no service account {account} in metadata slot {slot}")
        return found

    @sim.route("metadata", "GET", r"/(?P<slot>\d+)/?", "metadata.ping")
    def ping(call, slot):
        principal(slot)
        return PlainTextResponse("computeMetadata/\n", headers=FLAVOR)

    prefix = r"/(?P<slot>\d+)/computeMetadata/v1"
    default = prefix + r"/instance/service-accounts/(?P<account>[^/]+)"

    @sim.route("metadata", "GET", default + "/?", "metadata.sa")
    def account(call, slot, account):
        email = principal(slot, account)
        return JSONResponse(
            {"email": email, "scopes": SCOPES, "aliases": ["default"]}, headers=FLAVOR
        )

    @sim.route("metadata", "GET", default + "/email", "metadata.email")
    def email(call, slot, account):
        return PlainTextResponse(principal(slot, account), headers=FLAVOR)

    @sim.route("metadata", "GET", default + "/token", "metadata.token")
    def token(call, slot, account):
        issued = sim.tokens.issue(principal(slot, account))
        return JSONResponse(
            {"access_token": issued, "expires_in": 3599, "token_type": "Bearer"}, headers=FLAVOR
        )

    @sim.route("metadata", "GET", prefix + r"/project/project-id", "metadata.project")
    def project(call, slot):
        return PlainTextResponse(sim.world.project_of_identity(principal(slot)), headers=FLAVOR)

    @sim.route("metadata", "GET", prefix + r"/universe/universe-domain", "metadata.universe")
    def universe(call, slot):
        return PlainTextResponse("googleapis.com", headers=FLAVOR)
