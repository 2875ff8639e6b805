"""Reading synthesized Terraform JSON in tests."""


def resources_of(stack: dict, rtype: str) -> list[dict]:
    return list(stack.get("resource", {}).get(rtype, {}).values())
