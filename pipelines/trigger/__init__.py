"""The retraining function: a Pub/Sub message in, a promotion pipeline run out."""
