"""A simulated Google Cloud for the APIs this repository calls (docs/simulation.md).

Seeded from the synthesized stacks, enforcing their IAM per calling identity, reached by the
real client libraries through one endpoint setting (kernel.gcp). Tests and
`mlops run --target vertex --simulated` use it; nothing in the product imports it.
"""
