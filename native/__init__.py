"""The compiled crypto core (C99, built through cffi in API mode).

Import `pli.native._pli_native` to reach it; pli.core.crypto wraps it so that
callers never see raw return codes or cffi objects.
"""
