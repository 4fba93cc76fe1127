"""Static reference data shipped with Guild (no Flask imports here)."""
