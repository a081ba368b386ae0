"""What people do with sentence vectors: search, deduplicate, cluster, classify."""
