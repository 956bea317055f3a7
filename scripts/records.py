"""The master's record prefixes for the scripts, read from their one definition in
crates/romain-records/src/lib.rs (`pub const NAME: &str = "...";`)."""
import os
import re

_LIB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crates", "romain-records",
                    "src", "lib.rs")


def _constants():
    with open(_LIB, encoding="utf-8") as f:
        text = f.read()
    return dict(re.findall(r'^pub const ([A-Z_]+): &str = "([^"]*)";', text, re.M))


_C = _constants()
SUMMARY = _C["SUMMARY"]
END = _C["END"]
MASTER_FELL = _C["MASTER_FELL"]
