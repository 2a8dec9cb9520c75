"""Fingerprints: minutiae templates (ISO/IEC 19794-2, ANSI INCITS 378), MCC scoring,
synthetic fingers and candidate search."""
