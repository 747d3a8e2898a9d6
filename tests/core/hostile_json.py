"""Raw JSON texts an attacker puts where a field goes: wrong types, nesting thousands deep, huge numbers.

Shared by the fuzz tests of everything pli parses from JSON it did not write (the trace, the directory,
pad and group files).  Raw text, not Python values: json.dumps cannot write 30,000 levels of nesting.
"""
import json

from hypothesis import strategies as st

VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                   max_size=3),
                      max_leaves=8)

HOSTILE = st.one_of(
    VALUES.map(json.dumps),
    st.sampled_from(["1e400", "-1e400", "NaN", "Infinity", "9" * 5000, "1" + "0" * 4300, "-0", "true", "[]", "{}"]),
    st.integers(2, 30_000).map(lambda depth: "[" * depth + "]" * depth),
    st.integers(2, 30_000).map(lambda depth: '{"a":' * depth + "1" + "}" * depth),
)

MARK = "\x00HOSTILE"


def with_field(obj: dict, path: tuple, raw: str, **dumps) -> bytes:
    """json.dumps(obj) with the value at `path` (keys and indexes) replaced by the raw JSON text `raw`."""
    target = obj
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = MARK
    text = json.dumps(obj, **dumps)
    marked = json.dumps(MARK)
    assert text.count(marked) == 1
    return text.replace(marked, raw).encode("utf-8", "surrogatepass")
