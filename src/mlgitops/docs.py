"""The reference, generated: every params.yaml key and every CLI command, from their sources.

Keys come from the pydantic models that parse params.yaml (their types, constraints and
``description=``), commands from click's own help, so the reference says what the code does.
``tools/gen_reference.py`` writes ``docs/reference.md`` with it; a test fails when the committed
file differs from what this module renders. ``mlgitops init`` reads the same descriptions for the
comments it writes beside each key.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import click
from pydantic import BaseModel
from pydantic.fields import FieldInfo

#: Placeholders in key paths: a mapping's own names, and the items of a list of sections.
NAME = "<name>"
ITEM = "[]"


@dataclass(frozen=True)
class KeyDoc:
    """One key of params.yaml: where it is, what it holds and what it means."""

    path: str
    type: str
    allowed: str
    description: str
    section: bool = False


def _is_section(annotation: Any) -> bool:
    return inspect.isclass(annotation) and issubclass(annotation, BaseModel)


def _args(annotation: Any) -> tuple[Any, ...]:
    return typing.get_args(annotation)


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def type_text(annotation: Any) -> str:
    """A reader's name for a type: ``number``, ``list of strings``, ``string or null``."""
    names = {int: "integer", float: "number", str: "string", bool: "true/false"}
    if annotation in names:
        return names[annotation]
    if annotation is type(None):
        return "null"
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return "string"
    if _is_union(annotation):
        parts = [type_text(a) for a in _args(annotation)]
        return ", ".join(parts[:-1]) + " or " + parts[-1]
    if origin is tuple:
        item = type_text(_args(annotation)[0])
        plural = {"true/false": "true/false values", "section": "sections"}.get(item, f"{item}s")
        return f"list of {plural}"
    if origin is dict:
        return f"mapping of names to {type_text(_args(annotation)[1])}s"
    if _is_section(annotation):
        return "section"
    return str(annotation)


def allowed_text(info: FieldInfo) -> str:
    """The values a field accepts beyond its type: ranges, choices, patterns."""
    annotation = info.annotation
    literal = annotation if typing.get_origin(annotation) is Literal else None
    if _is_union(annotation):
        literal = next((a for a in _args(annotation) if typing.get_origin(a) is Literal), None)
    parts = []
    if literal is not None:
        parts.append(", ".join(f"`{v}`" for v in _args(literal)))
    bounds = []
    for item in info.metadata:
        for attr, sign in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
            value = getattr(item, attr, None)
            if value is not None:
                bounds.append(f"{sign} {value:,}")
        if getattr(item, "min_length", None) == 1:
            parts.append("not empty")
        pattern = getattr(item, "pattern", None)
        if pattern:
            parts.append(f"matching `{pattern}`")
    if bounds:
        parts.insert(0, " and ".join(bounds))
    return "; ".join(parts)


def key_docs(prefix: str, model: type[BaseModel]) -> Iterator[KeyDoc]:
    """Every key of a section, depth first, nested sections before their keys."""
    for name, info in model.model_fields.items():
        path = f"{prefix}.{info.alias or name}"
        annotation = info.annotation
        description = markdown(" ".join((info.description or "").split()))
        yield KeyDoc(path, type_text(annotation), allowed_text(info), description)
        origin = typing.get_origin(annotation)
        if _is_section(annotation):
            yield from key_docs(path, annotation)
        elif origin is tuple and _is_section(_args(annotation)[0]):
            yield from key_docs(f"{path}{ITEM}", _args(annotation)[0])
        elif origin is dict and _is_section(_args(annotation)[1]):
            value = _args(annotation)[1]
            yield KeyDoc(f"{path}.{NAME}", "section", "", summary(value), section=True)
            yield from key_docs(f"{path}.{NAME}", value)


def summary(model: type[BaseModel]) -> str:
    """The first paragraph of a model's docstring, on one line."""
    doc = inspect.getdoc(model) or ""
    return markdown(" ".join(doc.split("\n\n", 1)[0].split()))


def markdown(text: str) -> str:
    """Docstring markup (reStructuredText's double backticks) as Markdown code."""
    return text.replace("``", "`")


def first_sentence(text: str) -> str:
    """Up to the first full stop that ends a sentence (not the one of "e.g."), or all of it."""
    match = re.search(r"(?<!\be\.g)(?<!\bi\.e)\.\s", text)
    return text[: match.start() + 1] if match else text


def key_path(parts: tuple[str | int, ...], docs: dict[str, KeyDoc]) -> str | None:
    """The reference path of a concrete key (``gate.metrics.accuracy.margin`` is
    ``gate.metrics.<name>.margin``; ``evaluate.slices.0.column`` is ``evaluate.slices[].column``).
    """
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += ITEM
            if not any(p.startswith(f"{path}.") for p in docs):
                return None
            continue
        candidate = f"{path}.{part}" if path else str(part)
        if candidate in docs:
            path = candidate
        elif f"{path}.{NAME}" in docs:
            path = f"{path}.{NAME}"
        else:
            return None
    return path


# ---------------------------------------------------------------------------------- rendering


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def params_reference(sections: list[tuple[str, type[BaseModel], str]]) -> str:
    """The params.yaml part: per section its purpose, then a table of its keys."""
    out = ["## params.yaml", ""]
    out.append(
        "Framework sections are strict: every key is required, an unknown key, a wrong type or a "
        "value outside its range stops a command with exit code 2, naming the file, the key and "
        "what was expected. `<name>` stands for a name you choose (a metric, a stage); `[]` for "
        "each item of a list."
    )
    out.append("")
    out.append("| section | read by | purpose |")
    out.append("| --- | --- | --- |")
    for name, model, owner in sections:
        out.append(f"| [`{name}`](#{name}) | {owner} | {_cell(summary(model))} |")
    for name, model, owner in sections:
        out += ["", f"### {name}", "", f"{summary(model)} Read by {owner}.", ""]
        out.append("| key | type | allowed | meaning |")
        out.append("| --- | --- | --- | --- |")
        for doc in key_docs(name, model):
            out.append(
                f"| `{doc.path}` | {doc.type} | {_cell(doc.allowed) or '-'} | "
                f"{_cell(doc.description)} |"
            )
    return "\n".join(out) + "\n"


def commands(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command path under ``group`` (groups and their subcommands), sorted."""
    ctx = click.Context(group)
    for name in sorted(group.list_commands(ctx)):
        command = group.get_command(ctx, name)
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from commands(command, (*prefix, name))


def command_help(root: click.Group, path: tuple[str, ...], prog: str = "mlgitops") -> str:
    """What ``<prog> <path> --help`` prints, at a fixed width of 100 columns."""
    settings = {**root.context_settings, "terminal_width": 100, "max_content_width": 100}
    ctx = click.Context(root, info_name=prog, **settings)
    command: click.Command = root
    for name in path:
        command = command.get_command(ctx, name)  # type: ignore[attr-defined]
        ctx = click.Context(command, info_name=name, parent=ctx)
    return command.get_help(ctx)


def cli_reference(root: click.Group, prog: str = "mlgitops") -> str:
    """The CLI part: a table of the commands, then each one's help."""
    paths = list(commands(root))
    out = ["## Command line", ""]
    out.append(
        "Every command exits 0 when all is well, 1 when a check said no, 2 on bad input or "
        "configuration. Paths default to the ones params.yaml names (`[paths.*]`)."
    )
    out += ["", "| command | what it does |", "| --- | --- |"]
    for path in paths:
        command = _command(root, path)
        anchor = "-".join((prog, *path))
        line = (command.help or "").strip().splitlines()[0] if command.help else ""
        out.append(f"| [`{prog} {' '.join(path)}`](#{anchor}) | {_cell(line)} |")
    for path in paths:
        out += ["", f"### {prog} {' '.join(path)}", "", "```text"]
        out += command_help(root, path, prog).rstrip().splitlines()
        out.append("```")
    return "\n".join(out) + "\n"


def _command(root: click.Group, path: tuple[str, ...]) -> click.Command:
    command: click.Command = root
    for name in path:
        command = command.get_command(click.Context(command), name)  # type: ignore[attr-defined]
    return command


def render_reference(
    sections: list[tuple[str, type[BaseModel], str]], root: click.Group, generator: str
) -> str:
    """The whole ``docs/reference.md``."""
    head = (
        "# Reference\n\n"
        f"Generated by `{generator}` from the pydantic models that parse params.yaml and from the "
        "command line's own help; a test fails when this file and the code disagree, so edit the "
        "descriptions in the code and run the generator again.\n\n"
        "- [params.yaml](#paramsyaml)\n- [Command line](#command-line)\n\n"
    )
    return head + params_reference(sections) + "\n" + cli_reference(root)
