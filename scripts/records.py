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


def ok_summaries(log):
    """The summaries of a console log by program (its name before any `+`), each asserted `ok`.
    Records are whole lines that start with their prefix, and lines end in \\n only (a program's
    \\r does not start one): romain_records::parse."""
    import json
    rows = {}
    with open(log, errors="replace", newline="\n") as f:
        for line in f:
            if line.startswith(SUMMARY):
                s = json.loads(line[len(SUMMARY):])
                assert s["status"] == "ok", s
                rows[s["app"].split("+")[0]] = s
    return rows
