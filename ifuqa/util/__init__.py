"""Small helpers every layer may use: robust NaN-aware statistics, FITS header keywords.

Imports nothing of ifuqa.
"""
