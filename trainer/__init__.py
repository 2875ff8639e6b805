"""The census-income model: schema, loading, features, training, evaluation, export."""
