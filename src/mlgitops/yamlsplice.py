"""Edit a YAML file by whole lines, at places found by ruamel.yaml's round-trip parser.

``mlgitops init`` merges its parts into files the user owns (``dvc.yaml``, ``params.yaml``).
ruamel.yaml (the YAML library DVC itself uses) parses them in round-trip mode, which records the
line and column where every key and item starts. The edits here replace, insert or delete whole
lines at those places, so everything outside an edit stays byte for byte as the user wrote it:
comments, blank lines, quoting, indentation, key order. (Dumping the round-trip tree would keep
the comments too, but re-flow long lines, quotes and indentation: a diff the user did not ask
for.)

An entry's lines run from its key (or its ``-``) to the line before the next sibling, less the
blank lines and comments at the end: those introduce whatever follows. Inside a flow-style
collection (``{a: 1}``, ``[a, b]``) nothing can be edited line by line; the whole entry holding
it can still be replaced.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from mlgitops.errors import ConfigError

Path_ = tuple[str | int, ...]


def plain(value: Any) -> Any:
    """The round-trip tree as plain dicts, lists and scalars (comments and styles dropped)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


#: Characters that make a plain (unquoted) scalar mean something else somewhere in YAML.
_SPECIAL = set(":#{}[],&*!|>'\"%@`")


def yaml_scalar(value: Any) -> str:
    """``value`` written as a YAML scalar that PyYAML and ruamel.yaml both read back as ``value``.

    Text is left plain when that is unambiguous (``data/raw.csv``), else double-quoted
    (``">50K"``, ``"1"``, ``"yes"``); numbers are written so YAML 1.1 reads them as numbers too.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        if "e" in text and "." not in text.split("e")[0]:
            mantissa, exponent = text.split("e")
            text = f"{mantissa}.0e{exponent}"
        return text
    text = str(value)
    if (
        text
        and text == text.strip()
        and not (_SPECIAL & set(text))
        and not text.startswith(("-", "?"))
        and yaml.safe_load(text) == text
    ):
        return text
    return json.dumps(text, ensure_ascii=False)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def reindent(block: str, column: int) -> list[str]:
    """The lines of ``block`` (written at column 0) moved right by ``column`` spaces."""
    lines = block.splitlines()
    return [(" " * column + line) if line.strip() else "" for line in lines]


@dataclass(frozen=True)
class YamlText:
    """A YAML document's text and its round-trip tree (``data`` is None for an empty file)."""

    text: str
    where: str
    data: Any = field(init=False, compare=False, repr=False)
    lines: tuple[str, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        try:
            data = YAML(typ="rt").load(self.text)
        except YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f" at line {mark.line + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise ConfigError(f"{self.where} is not valid YAML{at} ({problem}); fix it.") from None
        if data is not None and not isinstance(data, CommentedMap):
            raise ConfigError(f"{self.where} must be a mapping at the top level.")
        object.__setattr__(self, "data", data)
        object.__setattr__(self, "lines", tuple(self.text.splitlines()))

    # ------------------------------------------------------------------------------ reading

    def node(self, path: Path_) -> Any:
        """The value at ``path`` (keys of mappings, indexes of sequences)."""
        value = self.data
        for part in path:
            value = value[part]
        return value

    def has(self, path: Path_) -> bool:
        """Whether ``path`` names an entry of the document."""
        value = self.data
        for part in path:
            in_map = isinstance(value, dict) and part in value
            in_list = isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value)
            if not (in_map or in_list):
                return False
            value = value[part]
        return True

    def is_flow(self, path: Path_) -> bool:
        """Whether the collection at ``path`` is written in flow style (``{...}`` or ``[...]``)."""
        value = self.node(path)
        return isinstance(value, CommentedMap | CommentedSeq) and bool(value.fa.flow_style())

    def _start(self, path: Path_) -> tuple[int, int]:
        """(line, column) where the entry at ``path`` starts: its key, or its ``-``."""
        parent = self.node(path[:-1]) if path[:-1] else self.data
        last = path[-1]
        if isinstance(parent, CommentedMap):
            line, column = parent.lc.key(last)
            return line, column
        line, column = parent.lc.item(last)
        # The item's node can start on a line after its "-": find the dash.
        while line > 0 and "-" not in self.lines[line][:column]:
            line -= 1
        return line, self.lines[line].index("-")

    def _raw_end(self, path: Path_) -> int:
        """The line after the entry at ``path``: where its next sibling (or what follows) starts."""
        if not path:
            return len(self.lines)
        parent = self.node(path[:-1]) if path[:-1] else self.data
        last = path[-1]
        if isinstance(parent, CommentedMap):
            keys = list(parent.keys())
            i = keys.index(last)
            if i + 1 < len(keys):
                return parent.lc.key(keys[i + 1])[0]
        elif last + 1 < len(parent):  # type: ignore[operator]
            return self._start((*path[:-1], last + 1))[0]  # type: ignore[operator]
        return self._raw_end(path[:-1])

    def span(self, path: Path_) -> tuple[int, int]:
        """Lines ``[start, end)`` of the entry at ``path``, trailing blanks and comments left out.

        A comment at the end counts as the entry's own when it is indented deeper than the
        entry's key (it cannot introduce a sibling then).
        """
        start, column = self._start(path)
        end = self._raw_end(path)
        while end > start + 1:
            line = self.lines[end - 1]
            filler = not line.strip() or (line.lstrip().startswith("#") and _indent(line) <= column)
            if not filler:
                break
            end -= 1
        return start, end

    def column(self, path: Path_) -> int:
        """The column of the entry's key (or ``-``)."""
        return self._start(path)[1]

    def block(self, path: Path_) -> str:
        """The entry's text, moved left to column 0 (what :meth:`insert_after` takes)."""
        start, end = self.span(path)
        column = self.column(path)
        return "\n".join(line[column:] for line in self.lines[start:end]) + "\n"

    def separated_by_blank_lines(self, path: Path_) -> bool:
        """Whether the entries of the collection at ``path`` are separated by blank lines."""
        container = self.node(path)
        keys = list(container.keys()) if isinstance(container, dict) else range(len(container))
        keys = list(keys)
        if len(keys) < 2:
            return True
        first_end = self.span((*path, keys[0]))[1]
        second_start = self._start((*path, keys[1]))[0]
        return any(not line.strip() for line in self.lines[first_end:second_start])

    # ------------------------------------------------------------------------------ editing

    def _with_lines(self, lines: Sequence[str]) -> YamlText:
        # The file's own line ends: a CRLF file stays CRLF.
        newline = "\r\n" if "\r\n" in self.text else "\n"
        text = newline.join(lines)
        return YamlText(text + newline if text else "", self.where)

    def _check_editable(self, container: Path_) -> None:
        if container and self.is_flow(container):
            dotted = ".".join(map(str, container))
            raise ConfigError(
                f"{self.where}: {dotted} is written in flow style ({{...}} or [...]), so an entry "
                "cannot be added to it line by line; write it in block style, or use --force to "
                "replace it whole."
            )

    def replace(self, path: Path_, block: str) -> YamlText:
        """Replace the entry at ``path`` with ``block`` (written at column 0)."""
        start, end = self.span(path)
        new = reindent(block, self.column(path))
        return self._with_lines([*self.lines[:start], *new, *self.lines[end:]])

    def delete(self, path: Path_) -> YamlText:
        """Remove the entry at ``path`` (its trailing comments stay, for what follows)."""
        start, end = self.span(path)
        return self._with_lines([*self.lines[:start], *self.lines[end:]])

    def insert_after(self, path: Path_, block: str, *, blank_line: bool = False) -> YamlText:
        """Insert ``block`` as the sibling right after the entry at ``path``."""
        self._check_editable(path[:-1])
        end = self.span(path)[1]
        new = reindent(block, self.column(path))
        return self._with_lines(
            [*self.lines[:end], *([""] if blank_line else []), *new, *self.lines[end:]]
        )

    def insert_before(self, path: Path_, block: str) -> YamlText:
        """Insert ``block`` as the sibling right before the entry at ``path``."""
        self._check_editable(path[:-1])
        start, column = self._start(path)
        return self._with_lines(
            [*self.lines[:start], *reindent(block, column), *self.lines[start:]]
        )

    def append(self, block: str) -> YamlText:
        """Add ``block`` (top-level entries, comments) at the end, after a blank line."""
        lines = list(self.lines)
        while lines and not lines[-1].strip():
            lines.pop()
        return self._with_lines([*lines, *([""] if lines else []), *block.splitlines()])
