"""Secret detection: every rule fires on a token of its shape, findings never hold the token, the
usual code of a ComfyUI node pack is not a finding, and workflow JSON is searched value by value.

The tokens are random and assembled at run time from pieces, so this file holds nothing shaped
like a secret (a scanner, or a forge's push protection, would rightly object)."""

from __future__ import annotations

import random
import string
from typing import Any

import pytest

from git_comfy.core import secrets
from git_comfy.errors import FatalError

RNG = random.Random(20260722)
ALNUM = string.ascii_letters + string.digits
URLSAFE = ALNUM + "_-"
HEX = "0123456789abcdef"


def rand(length: int, alphabet: str = ALNUM) -> str:
    """Random characters of ``alphabet``; with a digit in them whenever the alphabet has one
    (a value a keyword rule takes for a key has one)."""
    text = "".join(RNG.choice(alphabet) for _ in range(length))
    if any(c.isdigit() for c in alphabet) and not any(c.isdigit() for c in text):
        text = text[:-1] + "7"
    return text


def planted() -> dict[str, tuple[str, str]]:
    """rule id → (a line of code or text holding a secret, the secret)."""
    tokens = {
        "private-key": "-----BEGIN " + "OPENSSH PRIVATE" + " KEY-----",
        "huggingface-access-token": "hf" + "_" + rand(34, string.ascii_letters),
        "huggingface-organization-api-token": "api" + "_org_" + rand(34, string.ascii_letters),
        "openai-api-key": "sk-" + "proj-" + rand(74, URLSAFE) + "T3Blbk" + "FJ" + rand(74, URLSAFE),
        "anthropic-api-key": "sk-" + "ant-api03-" + rand(93, URLSAFE) + "AA",
        "aws-access-token": "AK" + "IA" + rand(16, string.ascii_uppercase + "234567"),
        "github-pat": "ghp" + "_" + rand(36),
        "github-fine-grained-pat": "github" + "_pat_" + rand(82, ALNUM + "_"),
        "github-app-token": "ghs" + "_" + rand(36),
        "github-oauth": "gho" + "_" + rand(36),
        "github-refresh-token": "ghr" + "_" + rand(36),
        "gitlab-pat": "glpat" + "-" + rand(20, URLSAFE),
        "gcp-api-key": "AI" + "za" + rand(35, URLSAFE),
        "slack-webhook-url": "https://hooks." + "slack.com/services/" + rand(44, ALNUM + "+/"),
        "npm-access-token": "npm" + "_" + rand(36, string.ascii_lowercase + string.digits),
        "pypi-upload-token": "pypi-" + "AgEIcHlwaS5vcmc" + rand(60, URLSAFE),
        "jwt": "ey" + rand(24) + ".ey" + rand(40) + "." + rand(30, URLSAFE),
        "discord-bot-token": "M" + rand(23, URLSAFE) + "." + rand(6, URLSAFE) + "." + rand(27),
        "discord-webhook-url": ("https://discord" + ".com/api/webhooks/" + rand(18, string.digits)
                                + "/" + rand(68, URLSAFE)),
        "civitai-api-key": rand(32, HEX),
        "url-token-param": rand(32, HEX),
        "generic-assignment": rand(24),
    }
    lines = {
        "private-key": "{}\n" + rand(64, ALNUM + "+/") + "\n",
        "civitai-api-key": 'CIVITAI_KEY = "{}"',
        "url-token-param": 'url = "https://civitai.com/api/download/models/46846?token={}"',
        "generic-assignment": 'password = "{}"',
    }
    return {rule: (lines.get(rule, 'client = Client("{}")').format(token), token)
            for rule, token in tokens.items()}


PLANTED = planted()


def test_every_rule_has_a_planted_token() -> None:
    assert sorted(PLANTED) == sorted(rule.id for rule in secrets.RULES)


@pytest.mark.parametrize("rule", sorted(PLANTED))
def test_each_rule_fires_and_keeps_only_the_masked_form(rule: str) -> None:
    line, token = PLANTED[rule]
    text = f"import os\n\n# settings\n{line}\nprint('done')\n"
    found = secrets.scan_text(text, "nodes.py")
    assert found == [secrets.Finding(rule, "nodes.py", 4, secrets.mask(token))]
    assert token not in repr(found) and len(found[0].masked) <= 9


def test_masking() -> None:
    token = "hf_ujz" + "q" * 29 + "zd"
    assert secrets.mask(token) == "hf_ujz…zd"
    assert secrets.mask("abcdefghijklmnop") == "abc…p"  # 12 to 23 characters: four shown
    assert secrets.mask("abcdefgh") == "…"


def test_all_at_once_in_order_with_lines() -> None:
    text = "\n".join(line for line, _ in PLANTED.values())
    found = secrets.scan_text(text, "all.txt")
    expected_lines = [1 + text[:text.index(token)].count("\n") for _, token in PLANTED.values()]
    assert [(f.rule, f.line) for f in found] == list(zip(PLANTED, expected_lines, strict=True))


@pytest.mark.parametrize("text", [
    'api_key = os.environ["OPENAI_API_KEY"]',
    'token = os.environ.get("HF_TOKEN", "")',
    'token = ""',
    'api_key = "YOUR_API_KEY"',
    'api_key = "your-api-key-here"',
    'api_key = "OPENAI_API_KEY"',
    'token = "xxxxxxxxxxxxxxxx"',
    'password = "********************"',
    'secret = "${SECRET_FROM_ENV}"',
    '"api_key": "<your key>"',
    '"api_key": ("STRING", {"default": "", "multiline": False})',
    'pad_token = "<|endoftext|>"',
    'tokenizer = "openai/clip-vit-large-patch14"',
    'AUTH_TOKEN_HEADER = "Authorization"',
    'token_file = "huggingface_token.txt"',
    'token = "https://huggingface.co/settings/tokens"',
    'url = f"https://civitai.com/api/download/models/{model_id}?token={token}"',
    'url = "https://civitai.com/api/download/models/1?token=YOUR_TOKEN"',
    'HF_TOKEN = "hf_' + "x" * 34 + '"',
    'OPENAI = "sk-..."',
    'if pem.startswith("-----BEGIN RSA ' + 'PRIVATE KEY-----"):',
    "const apiKey = localStorage.getItem('apiKey') || '';",
    'widget = node.widgets.find((w) => w.name === "api_key")',
    'if token == "abcdef0123456789":',
])
def test_usual_node_pack_code_is_not_a_finding(text: str) -> None:
    assert secrets.scan_text(text, "nodes.py") == []


def test_keyword_rule_knows_the_common_spellings() -> None:
    value = rand(28)
    for line in (f'api_key = "{value}"', f'"apiKey": "{value}"', f"SECRET_KEY = '{value}'",
                 f'replicate_api_token: str = "{value}"', f'auth-token: "{value}"'):
        assert [f.rule for f in secrets.scan_text(line, "x")] == ["generic-assignment"], line


def test_one_finding_per_stretch_of_text() -> None:
    _, token = PLANTED["openai-api-key"]
    found = secrets.scan_text(f'api_key = "{token}"\nurl = "https://x.invalid/?key={token}"', "x")
    assert [(f.rule, f.line) for f in found] == [("openai-api-key", 1), ("openai-api-key", 2)]


def test_workflow_values_and_keys() -> None:
    _, openai = PLANTED["openai-api-key"]
    _, hf = PLANTED["huggingface-access-token"]
    civitai = rand(32, HEX)
    url = f"https://civitai.com/api/download/models/4201?type=Model&token={civitai}"
    nodes: list[Any] = [{"id": n, "type": "KSampler", "widgets_values": [n, "fixed", 20, 8.0]}
                        for n in range(3)]
    nodes[2]["properties"] = {"models": [{"name": "x.safetensors", "url": url,
                                          "directory": "checkpoints"}]}
    nodes.append({"id": 12, "type": "OpenAIChat", "widgets_values": ["gpt-4o", openai, 0.7]})
    document = {"nodes": nodes, "extra": {hf: True, "ds": {"scale": 1.0}},
                "12": {"inputs": {"api_key": openai}}}
    found = secrets.scan_document(document, "workflow.json")
    assert found == [
        secrets.Finding("url-token-param", "workflow.json nodes[2].properties.models[0].url",
                        None, secrets.mask(civitai)),
        secrets.Finding("openai-api-key", "workflow.json nodes[3].widgets_values[1]", None,
                        secrets.mask(openai)),
        secrets.Finding("huggingface-access-token",
                        f'workflow.json extra["{secrets.mask(hf)}"]', None, secrets.mask(hf)),
        secrets.Finding("openai-api-key", 'workflow.json ["12"].inputs.api_key', None,
                        secrets.mask(openai)),
    ]
    assert not any(secret in repr(found) for secret in (openai, hf, civitai))


def test_document_depth_is_bounded() -> None:
    _, token = PLANTED["github-pat"]
    document: Any = [token]
    for _ in range(secrets.MAX_DEPTH - 1):
        document = [document]
    where = "workflow.json " + "[0]" * secrets.MAX_DEPTH
    assert secrets.scan_document(document, "workflow.json") == [
        secrets.Finding("github-pat", where, None, secrets.mask(token))]
    with pytest.raises(FatalError, match="deeper than 300 levels"):
        secrets.scan_document({"a": document}, "workflow.json")


def test_files_as_bytes() -> None:
    line, token = PLANTED["aws-access-token"]
    text = f"# caf\xe9\n{line}\n".encode("latin-1")  # not UTF-8: still searched
    assert [f.rule for f in secrets.scan_bytes(text, "x.py")] == ["aws-access-token"]
    marker = PLANTED["private-key"][1].encode()
    binary = b"\x89PNG\r\n\x1a\n\0\0" + token.encode() + b"\0" + marker + b"\nAAAA"
    assert secrets.scan_bytes(binary, "x.png") == [  # binary: private keys only
        secrets.Finding("private-key", "x.png", None, secrets.mask(marker.decode()))]


@pytest.mark.parametrize(("path", "glob"), [
    (".env", ".env"), (".env.local", ".env.*"), ("config/prod.env", "*.env"),
    ("id_ed25519", "id_ed25519*"), ("keys/id_rsa.pub", "id_rsa*"), ("server.pem", "*.pem"),
    ("SERVER.PEM", "*.pem"), (".git/config", ".git"), ("a/__pycache__/x.pyc", "__pycache__"),
    ("m.pyc", "*.pyc"), (".npmrc", ".npmrc"), ("client_secret_42.json", "client_secret*.json"),
    ("deploy-sa.json", "*-sa.json"), (".DS_Store", ".DS_Store"), (".ds_store", ".DS_Store"),
    ("web/node_modules/x/index.js", "node_modules"), ("debug.log", "*.log"), ("token", "token"),
    (".ssh/id_rsa", ".ssh"),
])
def test_built_in_excludes(path: str, glob: str) -> None:
    assert secrets.excluded(path) == glob


@pytest.mark.parametrize("path", ["__init__.py", "nodes.py", "environment.py", "tokenizer.json",
                                  "key.py", "tokens/vocab.txt", "credentials.py", "web/env.js",
                                  "pem.py", "README.md", "db.py", "logs.py"])
def test_ordinary_files_are_kept(path: str) -> None:
    assert secrets.excluded(path) is None


def test_scan_files_finds_what_each_file_alone_would() -> None:
    token = "hf_" + string.ascii_letters[3:37]
    files = [(b"import os\n", "a.py"), (f'KEY = "{token}"\n'.encode(), "b.py"),
             (b"\0binary", "c.bin"), (b"nothing here\n", "d.txt")]
    assert secrets.scan_files(files) == [f for data, where in files
                                         for f in secrets.scan_bytes(data, where)]
    assert [f.where for f in secrets.scan_files(files)] == ["b.py"]
    # a match only across two files is none
    key = b'= "' + b"0123456789abcdef" * 2 + b'"'
    assert secrets.scan_files([(b"civitai", "x.py"), (key, "y.py")]) == []
