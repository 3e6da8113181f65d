"""A small, honest evaluator for the GitHub Actions expressions our workflows use.

Supported: literals (``'string'`` with ``''`` escapes, numbers, ``true``, ``false``, ``null``),
property access (``a.b``, ``a['b']``, ``a[0]``), ``==``, ``!=``, ``&&``, ``||``, ``!``, parentheses,
and the status functions ``success()``, ``failure()``, ``always()`` and ``cancelled()`` (never true
here: nothing cancels a harness run). Semantics follow GitHub's documentation: ``&&``/``||`` return
an operand, not a boolean; equality coerces mismatched types to numbers and compares strings
ignoring case; a missing property is ``null``.

Anything else (``contains()``, ``format()``, ``<``, object filters ``.*``, an unknown context)
raises :class:`ExpressionError` naming the expression, so nothing is ever silently true.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

STATUS_FUNCTIONS = ("success", "failure", "always", "cancelled")


class ExpressionError(Exception):
    """An expression the evaluator does not support or cannot evaluate."""


@dataclass(frozen=True)
class Token:
    kind: str  # "str", "num", "ident", "op", "end"
    value: Any
    pos: int


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<str>'(?:[^']|'')*')
    | (?P<num>0x[0-9a-fA-F]+|-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<ident>[A-Za-z_][A-Za-z0-9_-]*)
    | (?P<op>==|!=|&&|\|\||<=|>=|[()!\[\].,<>*])
    )""",
    re.VERBOSE,
)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise ExpressionError(f"cannot parse expression {text!r} at {text[pos:]!r}")
        kind = match.lastgroup
        raw = match.group(kind)
        if kind == "str":
            value: Any = raw[1:-1].replace("''", "'")
        elif kind == "num":
            value = int(raw, 16) if raw.lower().startswith("0x") else float(raw)
        else:
            value = raw
        tokens.append(Token(kind, value, match.start(kind)))
        pos = match.end()
    tokens.append(Token("end", None, len(text)))
    return tokens


# ------------------------------------------------------------------------------ the AST


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class Context:
    name: str


@dataclass(frozen=True)
class Index:
    target: Any
    key: Any  # a node


@dataclass(frozen=True)
class Not:
    operand: Any


@dataclass(frozen=True)
class Binary:
    op: str
    left: Any
    right: Any


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Any, ...]


class Parser:
    """Recursive descent: or > and > equality > unary > postfix > primary."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    def error(self, what: str) -> ExpressionError:
        return ExpressionError(f"{what} in expression {self.text!r}")

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def expect(self, op: str) -> None:
        token = self.take()
        if token.kind != "op" or token.value != op:
            raise self.error(f"expected {op!r} at position {token.pos}")

    def parse(self) -> Any:
        node = self.or_()
        if self.peek().kind != "end":
            raise self.error(f"unexpected {self.peek().value!r} at position {self.peek().pos}")
        return node

    def or_(self) -> Any:
        node = self.and_()
        while self.peek().kind == "op" and self.peek().value == "||":
            self.take()
            node = Binary("||", node, self.and_())
        return node

    def and_(self) -> Any:
        node = self.equality()
        while self.peek().kind == "op" and self.peek().value == "&&":
            self.take()
            node = Binary("&&", node, self.equality())
        return node

    def equality(self) -> Any:
        node = self.unary()
        while True:
            token = self.peek()
            if token.kind == "op" and token.value in ("==", "!="):
                self.take()
                node = Binary(token.value, node, self.unary())
            elif token.kind == "op" and token.value in ("<", "<=", ">", ">="):
                raise self.error(f"unsupported operator {token.value!r}")
            else:
                return node

    def unary(self) -> Any:
        if self.peek().kind == "op" and self.peek().value == "!":
            self.take()
            return Not(self.unary())
        return self.postfix()

    def postfix(self) -> Any:
        node = self.primary()
        while self.peek().kind == "op" and self.peek().value in (".", "["):
            if self.take().value == ".":
                token = self.take()
                if token.kind == "op" and token.value == "*":
                    raise self.error("unsupported object filter '.*'")
                if token.kind != "ident":
                    raise self.error(f"expected a property name at position {token.pos}")
                node = Index(node, Literal(token.value))
            else:
                if self.peek().kind == "op" and self.peek().value == "*":
                    raise self.error("unsupported object filter '[*]'")
                key = self.or_()
                self.expect("]")
                node = Index(node, key)
        return node

    def primary(self) -> Any:
        token = self.take()
        if token.kind in ("str", "num"):
            return Literal(token.value)
        if token.kind == "op" and token.value == "(":
            node = self.or_()
            self.expect(")")
            return node
        if token.kind == "ident":
            if token.value in ("true", "false"):
                return Literal(token.value == "true")
            if token.value == "null":
                return Literal(None)
            if self.peek().kind == "op" and self.peek().value == "(":
                self.take()
                args: list[Any] = []
                if not (self.peek().kind == "op" and self.peek().value == ")"):
                    args.append(self.or_())
                    while self.peek().kind == "op" and self.peek().value == ",":
                        self.take()
                        args.append(self.or_())
                self.expect(")")
                if token.value.lower() not in STATUS_FUNCTIONS:
                    raise self.error(f"unsupported function {token.value}()")
                if args:
                    raise self.error(f"{token.value}() takes no arguments")
                return Call(token.value.lower(), ())
            return Context(token.value)
        raise self.error(f"unexpected {token.value!r} at position {token.pos}")


def parse(text: str) -> Any:
    return Parser(text).parse()


def uses_status_function(node: Any) -> bool:
    if isinstance(node, Call):
        return True
    if isinstance(node, Not):
        return uses_status_function(node.operand)
    if isinstance(node, Binary):
        return uses_status_function(node.left) or uses_status_function(node.right)
    if isinstance(node, Index):
        return uses_status_function(node.target) or uses_status_function(node.key)
    return False


# ------------------------------------------------------------------------------ semantics


def truthy(value: Any) -> bool:
    """GitHub's truthiness: false, 0, -0, '', null and NaN are falsy; objects are truthy."""
    if value is None or value is False:
        return False
    if isinstance(value, float | int) and not isinstance(value, bool):
        return not (value == 0 or math.isnan(value))
    if isinstance(value, str):
        return value != ""
    return True


def to_number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return 0.0
        try:
            return (
                float(int(text, 16)) if text.lower().startswith("0x") else float(json.loads(text))
            )
        except (ValueError, TypeError):
            return math.nan
    return math.nan


def equal(left: Any, right: Any) -> bool:
    """Loose equality as GitHub documents it."""

    def kind(v: Any) -> str:
        if v is None:
            return "null"
        if isinstance(v, bool):
            return "bool"
        if isinstance(v, int | float):
            return "num"
        if isinstance(v, str):
            return "str"
        return "obj"

    lk, rk = kind(left), kind(right)
    if lk == rk:
        if lk == "str":
            return left.casefold() == right.casefold()
        if lk == "num":
            return float(left) == float(right)
        if lk == "obj":
            return left is right
        return left == right
    if "obj" in (lk, rk):
        return False
    return to_number(left) == to_number(right)


def to_string(value: Any, expression: str) -> str:
    """How ``${{ }}`` interpolation turns a value into text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, str):
        return value
    raise ExpressionError(
        f"expression {expression!r} is an object or array; interpolating it gives GitHub's "
        "'Object'/'Array', never what was meant (toJSON is not supported here)"
    )


@dataclass(frozen=True)
class Scope:
    """What an expression can see.

    Attributes:
        contexts: context name -> value (or a callable ``(path) -> value`` for contexts that
            check the names they are asked for, like ``steps`` and ``needs``).
        status: status function name -> its value at this point of the run.
    """

    contexts: Mapping[str, Any]
    status: Mapping[str, bool]


def evaluate(text: str, scope: Scope) -> Any:
    node = parse(text)
    return _eval(node, scope, text)


def _eval(node: Any, scope: Scope, text: str) -> Any:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Context):
        if node.name not in scope.contexts:
            raise ExpressionError(
                f"unsupported context {node.name!r} in expression {text!r} (here: "
                f"{', '.join(sorted(scope.contexts))})"
            )
        return scope.contexts[node.name]
    if isinstance(node, Index):
        target = _eval(node.target, scope, text)
        key = _eval(node.key, scope, text)
        if isinstance(target, Checked):
            return target.get(key, text)
        if isinstance(target, Mapping):
            if not isinstance(key, str):
                return None
            # Property names are case-insensitive in GitHub's expressions.
            if key in target:
                return target[key]
            folded = {str(k).casefold(): v for k, v in target.items()}
            return folded.get(key.casefold())
        if isinstance(target, list):
            if isinstance(key, float) and key.is_integer() and 0 <= key < len(target):
                return target[int(key)]
            return None
        return None
    if isinstance(node, Not):
        return not truthy(_eval(node.operand, scope, text))
    if isinstance(node, Binary):
        left = _eval(node.left, scope, text)
        if node.op == "&&":
            return _eval(node.right, scope, text) if truthy(left) else left
        if node.op == "||":
            return left if truthy(left) else _eval(node.right, scope, text)
        right = _eval(node.right, scope, text)
        result = equal(left, right)
        return result if node.op == "==" else not result
    if isinstance(node, Call):
        if node.name not in scope.status:
            raise ExpressionError(f"{node.name}() is not available in expression {text!r}")
        return scope.status[node.name]
    raise ExpressionError(f"cannot evaluate {text!r}")


class Checked:
    """A context level that refuses names it does not know (a typo is an error, not null).

    Args:
        what: how to name this level in an error (``steps``, ``steps.compare``).
        known: name -> value (a value may itself be :class:`Checked`).
        fallback: names that exist but have no value yet (null, as on GitHub).
    """

    def __init__(
        self,
        what: str,
        known: Mapping[str, Any],
        fallback: Callable[[str], bool] | None = None,
    ) -> None:
        self.what = what
        self.known = dict(known)
        self.fallback = fallback

    def get(self, key: Any, text: str) -> Any:
        if isinstance(key, str):
            if key in self.known:
                return self.known[key]
            if self.fallback is not None and self.fallback(key):
                return None
        raise ExpressionError(f"{self.what}.{key} does not exist, in expression {text!r}")


_INTERPOLATION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


def interpolate(value: str, scope: Scope) -> str:
    """Replace every ``${{ expr }}`` in ``value`` with the expression's text value."""
    return _INTERPOLATION.sub(lambda m: to_string(evaluate(m.group(1), scope), m.group(1)), value)


def condition(raw: Any, scope: Scope) -> bool:
    """Evaluate an ``if:`` as the runner does: implicit ``success() &&`` without a status function.

    Raises:
        ExpressionError: the expression is not supported, or it mixes ``${{ }}`` with other text
            (GitHub reads that as a non-empty string, which is always true).
    """
    if raw is None:
        text = "success()"
    elif isinstance(raw, bool):
        return raw
    elif isinstance(raw, int | float):
        return truthy(raw)
    else:
        text = str(raw).strip()
        whole = re.fullmatch(r"\$\{\{(.*)\}\}", text, re.DOTALL)
        if whole and "${{" not in whole.group(1) and "}}" not in whole.group(1):
            text = whole.group(1)
        elif "${{" in text:
            raise ExpressionError(
                f"if: {raw!r} mixes ${{{{ }}}} with text; GitHub would read it as a non-empty "
                "string, always true"
            )
    node = parse(text)
    if not uses_status_function(node):
        node = Binary("&&", Call("success", ()), node)
    return truthy(_eval(node, scope, text))
