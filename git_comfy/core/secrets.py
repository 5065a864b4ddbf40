"""Secrets a dev node must not carry into a bundle (notes/security.md §4): files that hold them by
their name are never copied (:data:`EXCLUDED_NAMES`), and text shaped like a key or token blocks
export (:data:`RULES`): in a dev node's files (:func:`scan_bytes`) and in workflow JSON, where
custom nodes keep API keys in ``widgets_values`` and model URLs may carry ``?token=``
(:func:`scan_document`). A :class:`Finding` holds only the masked form of what it found, so no
report, log or exception can repeat a secret.

Choices, with the reasons:

* names are excluded **case-insensitively** (``SERVER.PEM``, ``Credentials.json``, ``.ENV``):
  macOS and Windows ignore case, and excluding too much only leaves a file out of the bundle,
  which collect reports, while excluding too little leaks a key;
* most rules are gitleaks' (the table in the notes); a key stops at the next character that
  cannot be part of it (gitleaks lists a few allowed ones, missing ``hf_…,`` or ``hf_…)``);
  the Discord bot token's last part may be 27 to 38 characters (newer tokens are longer);
  ``private-key`` also knows PuTTY's marker and skips a marker that a quote closes right away
  (``line.startswith("-----BEGIN RSA PRIVATE KEY-----")`` is code about keys, not a key);
* ``generic-assignment`` takes its keyword also as one ``_``/``-`` part of a longer name
  (``SECRET_KEY``, ``replicate_api_token``, but not ``tokenizer``), after a closing quote
  (``"apiKey": "…"``) and before a type (``api_key: str = "…"``); the value must be quoted, so
  ``api_key = os.environ["X"]`` is not a finding, and at least 12 characters (``token = ""``);
* the keyword rules (``generic-assignment``, ``url-token-param``) guess, so what they find must
  look machine-made: not a placeholder (``YOUR_API_KEY``, ``<|endoftext|>``, ``${TOKEN}``,
  ``xxxxxxxx``, ``sk-...``), not the name of an environment variable (``OPENAI_API_KEY``), not a
  word or identifier without a digit (``Authorization``, ``my_token.txt``), not a URL. A
  passphrase of plain words in ``password = "..."`` is therefore not caught;
* no rule accepts a value of fewer than six different characters (``hf_xxxx…``, ``000…``);
* one stretch of text is reported once, by the most specific rule that matches it
  (``api_key = "sk-…"`` is an ``openai-api-key``, not also a ``generic-assignment``);
* a file with a NUL byte in its first 8 KiB is binary (git's test): it is searched for
  private-key markers only, its text rules would match noise (UTF-16 text counts as binary);
* every byte of a file is searched, however large (the caller bounds file sizes); a rule runs
  only when one of its literal parts occurs in the text, so a usual file costs a few substring
  searches per rule (about 0.25 s for 4 MB of source).
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from git_comfy.errors import FatalError

EXCLUDED_NAMES = (
    ".git", ".hg", ".svn", ".venv", "venv", "env", "node_modules", "__pycache__", "*.pyc", "*.pyo",
    ".env", ".env.*", "*.env", ".envrc", "*.pem", "*.key", "*.p12", "*.pfx", "*.jks", "*.keystore",
    "*.kdbx", "id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*", "*.ppk", ".npmrc", ".pypirc",
    ".netrc", "_netrc", ".git-credentials", ".gitconfig", ".aws", "credentials",
    "credentials.json", "client_secret*.json", "service-account*.json", "*-sa.json", ".docker",
    ".kube", "kubeconfig", ".huggingface", "token", ".civitai", ".ssh", "*.sqlite", "*.sqlite3",
    "*.db", ".DS_Store", "Thumbs.db", "*.log", ".ipynb_checkpoints", ".idea", ".vscode",
)
BINARY_PROBE = 8192  # bytes looked at for a NUL, as git does
MAX_DEPTH = 300  # levels of a JSON document (jsonsafe accepts 256)

# one pass over a name for all the globs (a dev node has thousands); then which one it was
_ANY_EXCLUDED = re.compile("|".join(f"(?:{fnmatch.translate(glob)})" for glob in EXCLUDED_NAMES),
                           re.IGNORECASE)
_EXCLUDED = tuple((glob, re.compile(fnmatch.translate(glob), re.IGNORECASE))
                  for glob in EXCLUDED_NAMES)
_END = r"(?![\w-])"  # a key ends where no character of one follows
_PRIVATE_KEY = (r"(?i)(?:-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----(?!\s*[\"'`])"
                r"|PuTTY-User-Key-File-\d: )")


@dataclass(frozen=True)
class Rule:
    id: str
    regex: re.Pattern[str]  # group 1, when there is one, is the secret; else the whole match
    needles: tuple[str, ...]  # one of them is in the lower-cased text when the rule can match
    guessed: bool = False  # a keyword rule: placeholders and names are not findings
    # for a rule with no literal to look for: a cheap regex (a literal first character lets
    # re skip ahead) that matches wherever the rule can
    gate: re.Pattern[str] | None = None


def _rule(rule_id: str, pattern: str, *needles: str, guessed: bool = False,
          gate: str | None = None) -> Rule:
    return Rule(rule_id, re.compile(pattern), needles, guessed,
                re.compile(gate) if gate else None)


# The most specific first: a stretch of text is reported by the first rule that matches it.
# The needles make the usual file cost a few substring searches instead of a regex pass per rule
# (a regex that starts with \b has no literal prefix to skip ahead with).
RULES = (
    _rule("private-key", _PRIVATE_KEY, "private key", "putty-user-key-file-"),
    _rule("huggingface-access-token", rf"\b(hf_(?i:[a-z]{{34}})){_END}", "hf_"),
    _rule("huggingface-organization-api-token", rf"\b(api_org_(?i:[a-z]{{34}})){_END}",
          "api_org_"),
    _rule("openai-api-key",
          r"\b(sk-(?:(?:proj|svcacct|admin)-(?:[A-Za-z0-9_-]{74}|[A-Za-z0-9_-]{58})T3BlbkFJ"
          r"(?:[A-Za-z0-9_-]{74}|[A-Za-z0-9_-]{58})|[a-zA-Z0-9]{20}T3BlbkFJ[a-zA-Z0-9]{20}))"
          + _END, "t3blbkfj"),
    _rule("anthropic-api-key", rf"\b(sk-ant-api03-[a-zA-Z0-9_\-]{{93}}AA){_END}", "sk-ant-"),
    _rule("aws-access-token", r"\b((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b",
          "a3t", "akia", "asia", "abia", "acca"),
    _rule("github-pat", rf"\b(ghp_[0-9a-zA-Z]{{36}}){_END}", "ghp_"),
    _rule("github-fine-grained-pat", rf"\b(github_pat_\w{{82}}){_END}", "github_pat_"),
    _rule("github-app-token", rf"\b((?:ghu|ghs)_[0-9a-zA-Z]{{36}}){_END}", "ghu_", "ghs_"),
    _rule("github-oauth", rf"\b(gho_[0-9a-zA-Z]{{36}}){_END}", "gho_"),
    _rule("github-refresh-token", rf"\b(ghr_[0-9a-zA-Z]{{36}}){_END}", "ghr_"),
    _rule("gitlab-pat", rf"\b(glpat-[\w-]{{20}}){_END}", "glpat-"),
    _rule("gcp-api-key", rf"\b(AIza[\w-]{{35}}){_END}", "aiza"),
    _rule("slack-webhook-url",
          r"(?:https?://)?hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/]{43,56}",
          "hooks.slack.com/"),
    _rule("npm-access-token", rf"(?i)\b(npm_[a-z0-9]{{36}}){_END}", "npm_"),
    _rule("pypi-upload-token", r"pypi-AgEIcHlwaS5vcmc[\w-]{50,1000}", "pypi-ageichlwas5vcmc"),
    _rule("jwt", r"\b(ey[a-zA-Z0-9]{17,}\.ey[a-zA-Z0-9/\\_-]{17,}\."
                 r"(?:[a-zA-Z0-9/\\_-]{10,}={0,2})?)(?![\w/\\-])", ".ey"),
    _rule("discord-bot-token",
          rf"(?<![\w-])([MNO][a-zA-Z\d_-]{{23,25}}\.[a-zA-Z\d_-]{{6}}\.[a-zA-Z\d_-]{{27,38}}){_END}",
          gate=r"\.[a-zA-Z\d_-]{6}\.[a-zA-Z\d_-]{27}"),
    _rule("discord-webhook-url",
          r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d+/[\w-]{20,}",
          "/api/webhooks/"),
    _rule("civitai-api-key", r"(?i)civit\w*[\w.\-\s\"']{0,20}[:=]\s*[\"']?([0-9a-f]{32})\b",
          "civit"),
    _rule("url-token-param",
          r"(?i)[?&](?:token|api_?key|access_token|auth|key|sig|signature|X-Amz-Signature)="
          r"([^&\s\"'#]{8,})", "token=", "key=", "auth=", "sig=", "signature=", guessed=True),
    _rule("generic-assignment",
          r"(?i)(?<![A-Za-z0-9])(?:api[_-]?key|secret|token|passw(?:or)?d|auth[_-]?token)"
          r"(?:[_-][A-Za-z0-9]+)*[\"'`]?(?:\s*:\s*[A-Za-z_][\w.\[\], |]{0,40}?)?"
          r"\s*[:=]\s*[\"']([^\"'\s]{12,})[\"']",
          "api", "secret", "token", "passw", "auth", guessed=True),
)
_PRIVATE_KEY_BYTES = re.compile(_PRIVATE_KEY.encode("ascii"))
_PLACEHOLDER = re.compile(r"(?i)your|example|placeholder|change_?me|replace|insert|dummy|sample"
                          r"|redacted|xxxx|\*\*\*|\.\.\.|…|[<>{}$]|%s|%\(")
_NAME_SHAPED = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Za-z]+(?:[-_.][A-Za-z]+)*")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


@dataclass(frozen=True)
class Finding:
    """Something shaped like a secret: which rule, where (a file's path, or a path into a JSON
    document), the line (None when lines mean nothing: binary files, JSON values), and the
    secret masked (:func:`mask`). The secret itself is never kept."""

    rule: str
    where: str
    line: int | None
    masked: str


def excluded(relpath: str) -> str | None:
    """The built-in glob that keeps ``relpath`` (``/``-separated) out of a bundle, matched
    against each of its components, or None."""
    for part in relpath.split("/"):
        if _ANY_EXCLUDED.match(part):
            return next(glob for glob, regex in _EXCLUDED if regex.match(part))
    return None


def mask(secret: str) -> str:
    """``secret`` as it may be shown: ``hf_ujz…zd``. Short values show less, values shorter
    than 12 characters nothing."""
    if len(secret) >= 24:
        return f"{secret[:6]}…{secret[-2:]}"
    if len(secret) >= 12:
        return f"{secret[:3]}…{secret[-1:]}"
    return "…"


def scan_text(text: str, where: str) -> list[Finding]:
    """Every secret-shaped stretch of ``text``, in the order they appear, with line numbers."""
    found = []
    line, counted = 1, 0
    for start, rule_id, secret in _matches(text):
        line += text.count("\n", counted, start)
        counted = start
        found.append(Finding(rule_id, where, line, mask(secret)))
    return found


def scan_bytes(data: bytes, where: str) -> list[Finding]:
    """:func:`scan_text` on a file's bytes (not UTF-8 bytes become U+FFFD, which no rule needs);
    a binary file is searched for private-key markers only."""
    if b"\0" in data[:BINARY_PROBE]:
        return [Finding("private-key", where, None, mask(match.group().decode("ascii")))
                for match in _PRIVATE_KEY_BYTES.finditer(data)]
    return scan_text(data.decode("utf-8", "replace"), where)


def scan_files(files: Sequence[tuple[bytes, str]]) -> list[Finding]:
    """:func:`scan_bytes` for each (data, where), the text files searched all at once first:
    findings are rare, and one pass over a dev node's 2,000 files costs a tenth of 2,000
    passes. Joined by newlines, a match across two files only means each is searched alone."""
    binary = [(data, where) for data, where in files if b"\0" in data[:BINARY_PROBE]]
    text = [(data, where) for data, where in files if b"\0" not in data[:BINARY_PROBE]]
    found = [finding for data, where in binary for finding in scan_bytes(data, where)]
    joined = "\n".join(data.decode("utf-8", "replace") for data, _ in text)
    if _matches(joined):
        found += [finding for data, where in text for finding in scan_bytes(data, where)]
    return found


def scan_document(document: Any, where: str) -> list[Finding]:
    """Every secret-shaped string value and key of a parsed JSON document, in document order,
    each ``where`` a path to it: ``workflow.json nodes[3].widgets_values[1]``. A key that is
    itself secret-shaped is shown masked in the paths too. Iterative; a document nested
    deeper than :data:`MAX_DEPTH` cannot be vouched for and is a FatalError."""
    # One pass over all the strings at once first: findings are rare, and a workflow holds
    # tens of thousands of strings. Joined by newlines, which every rule stops at or treats as
    # a string's end, a match found only across two strings is no finding: the walk decides.
    if not _matches("\n".join(_strings(document, where))):
        return []
    found: list[Finding] = []
    stack: list[tuple[Any, str, int]] = [(document, where, 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            found += _value_findings(value, path)
            continue
        joint = " " if depth == 0 else ""
        children = []
        if isinstance(value, dict):
            for key, item in value.items():
                secret_key = _value_findings(key, "")
                label = _label(mask(key) if secret_key else key)
                child = f"{path}{joint}{label[1:] if depth == 0 and label[0] == '.' else label}"
                found += [Finding(f.rule, child, None, f.masked) for f in secret_key]
                if isinstance(item, str | dict | list):
                    children.append((item, child, depth + 1))
        elif isinstance(value, list):
            children = [(item, f"{path}{joint}[{index}]", depth + 1)
                        for index, item in enumerate(value) if isinstance(item, str | dict | list)]
        stack.extend(reversed(children))
    return found


def _strings(document: Any, where: str) -> list[str]:
    """Every string value and key of ``document``, in no particular order."""
    found: list[str] = []
    stack: list[tuple[Any, int]] = [(document, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            found.append(value)
            continue
        if depth >= MAX_DEPTH:
            raise FatalError(f"{where} is nested deeper than {MAX_DEPTH} levels; it cannot be "
                             "checked for secrets")
        if isinstance(value, dict):
            found.extend(value)
            stack.extend((item, depth + 1) for item in value.values()
                         if isinstance(item, str | dict | list))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value
                         if isinstance(item, str | dict | list))
    return found


def _matches(text: str) -> list[tuple[int, str, str]]:
    """(start, rule id, secret) of every finding in ``text``, by position."""
    taken: list[tuple[int, int]] = []
    found = []
    lower = text.lower()
    for rule in RULES:
        if rule.needles and not any(needle in lower for needle in rule.needles):
            continue
        if rule.gate is not None and not rule.gate.search(text):
            continue
        for match in rule.regex.finditer(text):
            group = 1 if rule.regex.groups else 0
            start, end = match.span(group)
            secret = match.group(group)
            if any(start < other_end and other_start < end for other_start, other_end in taken):
                continue
            if len(set(secret)) < 6 or (rule.guessed and not _machine_made(secret)):
                continue
            taken.append((start, end))
            found.append((start, rule.id, secret))
    found.sort()
    return found


def _machine_made(value: str) -> bool:
    """Whether a value a keyword rule found looks like a real key rather than a placeholder,
    the name of a variable, a word or a URL."""
    return not (_PLACEHOLDER.search(value) or _NAME_SHAPED.fullmatch(value) or "://" in value)


def _value_findings(value: str, where: str) -> list[Finding]:
    return [Finding(rule_id, where, None, mask(secret)) for _, rule_id, secret in _matches(value)]


def _label(key: str) -> str:
    """A key as one step of a JSON path: ``.name``, or ``["quoted key"]`` (shortened)."""
    if _IDENTIFIER.fullmatch(key):
        return f".{key}"
    return f"[{json.dumps(key[:40], ensure_ascii=False)}{'…' if len(key) > 40 else ''}]"
