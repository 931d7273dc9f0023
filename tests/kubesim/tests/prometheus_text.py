"""A strict reader of the Prometheus text exposition format 0.0.4, for checking what /metrics serves."""

import math
import re
from dataclasses import dataclass

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
METRIC_TYPES = ("counter", "gauge", "histogram", "summary", "untyped")
# Inside a label value only these escapes exist; any other backslash sequence is malformed.
LABEL_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}
HELP_ESCAPES = re.compile(r"\\(?![\\n])")


class FormatError(AssertionError):
    pass


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict
    value: float


def _label_value(text, start, line_number):
    """Read a quoted label value starting at ``text[start] == '"'``; returns (value, index after the closing quote)."""
    value, index = [], start + 1
    while index < len(text):
        char = text[index]
        if char == '"':
            return "".join(value), index + 1
        if char == "\n":
            raise FormatError(f"line {line_number}: newline inside a label value")
        if char == "\\":
            escaped = text[index + 1:index + 2]
            if escaped not in LABEL_ESCAPES:
                raise FormatError(f"line {line_number}: invalid escape \\{escaped} in a label value")
            value.append(LABEL_ESCAPES[escaped])
            index += 2
            continue
        value.append(char)
        index += 1
    raise FormatError(f"line {line_number}: unterminated label value")


def _labels(text, line_number):
    """Parse ``{a="x",b="y"}`` at the start of ``text``; returns (labels, rest of the line)."""
    labels, index = {}, 1
    while True:
        if text[index:index + 1] == "}":
            return labels, text[index + 1:]
        match = LABEL_NAME.match(text, index)
        if not match or text[match.end():match.end() + 2] != '="':
            raise FormatError(f"line {line_number}: malformed label at {text[index:]!r}")
        name = match.group()
        if name in labels or name.startswith("__"):
            raise FormatError(f"line {line_number}: label {name!r} repeated or reserved")
        labels[name], index = _label_value(text, match.end() + 1, line_number)
        if text[index:index + 1] == ",":
            index += 1
        elif text[index:index + 1] != "}":
            raise FormatError(f"line {line_number}: expected ',' or '}}' after label {name!r}")


def _value(text, line_number):
    try:
        return float(text)
    except ValueError as exc:
        raise FormatError(f"line {line_number}: value {text!r} is not a float") from exc


def _sample(line, line_number):
    match = METRIC_NAME.match(line)
    if not match:
        raise FormatError(f"line {line_number}: no metric name in {line!r}")
    name, rest = match.group(), line[match.end():]
    labels = {}
    if rest.startswith("{"):
        labels, rest = _labels(rest, line_number)
    fields = rest.split(" ")
    if fields[0] != "" or len(fields) not in (2, 3) or not all(fields[1:]):
        raise FormatError(f"line {line_number}: expected one space, a value and an optional timestamp in {line!r}")
    if len(fields) == 3 and not re.fullmatch(r"-?\d+", fields[2]):
        raise FormatError(f"line {line_number}: timestamp {fields[2]!r} is not an integer")
    return Sample(name, labels, _value(fields[1], line_number))


class _Families:
    """Bookkeeping of the rules that span lines: HELP/TYPE once and before samples, families contiguous, series unique."""

    def __init__(self):
        self.types, self.helps, self.finished, self.series = {}, set(), set(), set()
        self.current = None

    def enter(self, name, line_number):
        if name != self.current:
            if name in self.finished:
                raise FormatError(f"line {line_number}: lines of {name} are not contiguous")
            if self.current:
                self.finished.add(self.current)
            self.current = name

    def comment(self, keyword, name, text, line_number):
        self.enter(name, line_number)
        seen = self.helps if keyword == "HELP" else self.types
        if name in seen or any(sample_name == name for sample_name, _ in self.series):
            raise FormatError(f"line {line_number}: {keyword} for {name} repeated or after its samples")
        if keyword == "HELP":
            if HELP_ESCAPES.search(text):
                raise FormatError(f"line {line_number}: invalid escape in HELP of {name}")
            self.helps.add(name)
        elif text not in METRIC_TYPES:
            raise FormatError(f"line {line_number}: unknown type {text!r} for {name}")
        else:
            self.types[name] = text

    def family_of(self, sample_name):
        """Histogram and summary samples (``_bucket``, ``_sum``, ``_count``) belong to their base family."""
        for suffix in ("_bucket", "_sum", "_count"):
            base = sample_name.removesuffix(suffix)
            if base != sample_name and self.types.get(base) in ("histogram", "summary"):
                return base
        return sample_name

    def sample(self, sample, line_number):
        self.enter(self.family_of(sample.name), line_number)
        key = (sample.name, tuple(sorted(sample.labels.items())))
        if key in self.series:
            raise FormatError(f"line {line_number}: duplicate series {sample.name}{sample.labels}")
        self.series.add(key)
        if self.types.get(sample.name) == "counter" and (math.isnan(sample.value) or sample.value < 0):
            raise FormatError(f"line {line_number}: counter {sample.name} is {sample.value}")


def parse(text):
    """Every sample of an exposition, raising FormatError at the first violation of the format."""
    if text and not text.endswith("\n"):
        raise FormatError("the exposition does not end with a newline")
    families, samples = _Families(), []
    for line_number, line in enumerate(text.split("\n")[:-1], start=1):
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                if not METRIC_NAME.fullmatch(parts[2]):
                    raise FormatError(f"line {line_number}: bad metric name {parts[2]!r}")
                families.comment(parts[1], parts[2], parts[3] if len(parts) == 4 else "", line_number)
            continue
        sample = _sample(line, line_number)
        families.sample(sample, line_number)
        samples.append(sample)
    return samples


def total(samples, name, **labels):
    """The sum of the samples of ``name`` whose labels include all of ``labels``."""
    return sum(s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))
