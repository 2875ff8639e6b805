"""Terraform's plan and apply of the synthesized stacks, against the simulated cloud
(docs/infra.md, "Plan and apply in the simulated cloud")."""
