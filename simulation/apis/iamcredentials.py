"""IAM Credentials: impersonation, allowed only with iam.serviceAccounts.getAccessToken."""

from __future__ import annotations

import time

from starlette.responses import JSONResponse

from simulation.wire import ApiError


def install(sim) -> None:
    @sim.route(
        "iamcredentials",
        "POST",
        r"/v1/projects/-/serviceAccounts/(?P<email>[^/:]+):generateAccessToken",
        "iamcredentials.projects.serviceAccounts.generateAccessToken",
    )
    def generate(call, email):
        project = sim.world.accounts.get(email)
        resource = f"projects/-/serviceAccounts/{email}"
        if project is None:  # Google answers as for a denial: nothing leaks about existence
            permission = "iam.serviceAccounts.getAccessToken"
            raise ApiError(
                403,
                f"Permission '{permission}' denied on resource (or it may not exist).",
                permission=permission,
                resource=resource,
            )
        call.authorize(f"projects/{project}/serviceAccounts/{email}")
        expiry = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        return JSONResponse({"accessToken": sim.tokens.issue(email), "expireTime": expiry})

    @sim.route(
        "iamcredentials",
        "GET",
        r"/v1/projects/-/serviceAccounts/(?P<email>[^/:]+)/allowedLocations",
        "iamcredentials.projects.serviceAccounts.allowedLocations",
    )
    def allowed_locations(call, email):
        """google-auth's Regional Access Boundary lookup (kernel.gcp.point_libraries routes it
        here): this cloud restricts no account to regions."""
        if email not in sim.world.accounts:
            raise ApiError(404, f"Service account {email} not found.")
        return JSONResponse({"encodedLocations": "0x0", "locations": []})
