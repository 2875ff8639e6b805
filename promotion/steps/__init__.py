"""What each pipeline step does, as plain functions over the ports, one module per stage.

staging   ingest, validate, train, evaluate, decide: the non-prod half of a run
approval  promotion = "approval": the record prod's deploy trigger deploys from
deploy    prod's deploy: copy, register, canary split, smoke test, tidy the endpoint
rollback  undoing a failed deploy, and finishing one a crash interrupted
canary    concluding a canary on the serving figures (`mlops canary`)
monitor   the one description of model monitoring

The KFP components (pipelines/components.py) and the CLI open the adapters
(adapters.wiring) and call these; tests call them on the local adapters. Nothing here knows
whether it runs on Vertex AI or on this machine.
"""
