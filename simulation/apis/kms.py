"""Cloud KMS: keys, their IAM policies, and which of the caller's permissions hold."""

from __future__ import annotations

import base64
import hashlib

from starlette.responses import JSONResponse

from simulation.wire import ApiError

KEY = r"/v1/(?P<key>projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/:]+)"
METHOD = "cloudkms.projects.locations.keyRings.cryptoKeys"


def install(sim) -> None:
    def key_of(name: str):
        found = sim.world.keys.get(name)
        if found is None:
            raise ApiError(404, f"{name} not found.")
        return found

    @sim.route("cloudkms", "GET", KEY, f"{METHOD}.get")
    def get(call, key):
        call.authorize(key)
        k = key_of(key)
        return JSONResponse(
            {
                "name": k.name,
                "primary": {
                    "name": f"{k.name}/cryptoKeyVersions/1",
                    "state": k.state,
                    "algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION",
                    "protectionLevel": "SOFTWARE",
                },
                "purpose": "ENCRYPT_DECRYPT",
                "versionTemplate": {
                    "algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION",
                    "protectionLevel": "SOFTWARE",
                },
            }
        )

    def policy(call, key):
        call.authorize(key)
        key_of(key)
        roles: dict[str, list[str]] = {}
        for b in sim.world.bindings:
            if b.resource == key:
                roles.setdefault(b.role, []).append(b.member)
        bindings = [{"role": r, "members": sorted(m)} for r, m in sorted(roles.items())]
        etag = base64.b64encode(hashlib.sha256(repr(bindings).encode()).digest()[:8]).decode()
        return JSONResponse({"version": 1, "bindings": bindings, "etag": etag})

    @sim.route("cloudkms", "GET", KEY + ":getIamPolicy", f"{METHOD}.getIamPolicy")
    def get_policy(call, key):
        return policy(call, key)

    @sim.route("cloudkms", "POST", KEY + ":getIamPolicy", f"{METHOD}.getIamPolicy")
    def post_policy(call, key):
        return policy(call, key)

    @sim.route("cloudkms", "POST", KEY + ":testIamPermissions", f"{METHOD}.testIamPermissions")
    def test_permissions(call, key):
        asked = call.json().get("permissions", [])
        held = [p for p in asked if sim.allowed(call.principal, p, key)]
        return JSONResponse({"permissions": held})
