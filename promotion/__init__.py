"""The promotion: its pure domain rules, the ports the backends implement, and the steps.

Nothing here knows whether it runs on Vertex AI or on this machine: the steps work through
the ports (promotion.ports), and adapters/ implements them for each target.
"""
