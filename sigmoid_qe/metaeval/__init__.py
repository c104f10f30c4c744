"""Meta-evaluation: how well metric scores agree with WMT human judgements (placeholder)."""
