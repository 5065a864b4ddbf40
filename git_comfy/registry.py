"""The Comfy Registry (``git config comfy.registryUrl``, default https://api.comfy.org) and a
running ComfyUI's ``/object_info``, as sources for which pack provides a node type.

Registry answers are cached a day (:mod:`git_comfy.webcache`). An answer that is not JSON (an
HTML error page), JSON cut short, or not shaped like a registry node is reported once and
ignored — and not kept in the cache; a repository that is not plain https is never offered.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from git_comfy import ui
from git_comfy.core import bundle, jsonsafe, packs
from git_comfy.core.packs import RegistryNode
from git_comfy.webcache import Web

DEFAULT_URL = "https://api.comfy.org"
MAX_BYTES = 1024 * 1024  # one registry answer
MAX_AGE = 24 * 3600.0
SERVER_MAX_BYTES = 200 * 1024 * 1024  # /object_info of a ComfyUI with hundreds of packs
WHAT = "the Comfy Registry"
REFUSED_STATUSES = frozenset({"NodeVersionStatusBanned", "NodeVersionStatusDeleted"})


class Registry:
    def __init__(self, web: Web, base: str = DEFAULT_URL) -> None:
        self.web = web
        self.base = base.rstrip("/")
        self._reported: set[str] = set()  # kinds of bad answer already noticed

    def _json(self, path: str) -> Any | None:
        return self._json_many([path])[path]

    def _json_many(self, paths: list[str]) -> dict[str, Any | None]:
        """Each path's JSON document, or None (not found, unreachable, or not JSON)."""
        urls = {path: f"{self.base}{path}" for path in paths}
        answers = self.web.get_many(list(urls.values()), max_age=MAX_AGE, max_bytes=MAX_BYTES,
                                    what=WHAT)
        documents: dict[str, Any | None] = {}
        for path, url in urls.items():
            answer = answers[url]
            documents[path] = None
            if answer is None or answer.status == 404:
                continue
            try:
                documents[path] = jsonsafe.loads(answer.body)
            except jsonsafe.JSONError as error:
                self.web.forget(url)
                looks_html = answer.body.lstrip()[:1] == b"<" or "html" in answer.content_type
                kind = "an HTML page" if looks_html else f"broken JSON ({error})"
                self._notice(kind, f"{WHAT} answered {url} with {kind}, not JSON; ignored")
        return documents

    def _notice(self, kind: str, text: str) -> None:
        if kind not in self._reported:
            self._reported.add(kind)
            self.web.notices.append(text)

    def _node(self, path: str, document: Any) -> RegistryNode | None:
        if document is None:
            return None
        node = packs.registry_node(document)
        if node is None:
            self._notice("shape", f"{WHAT} answered {self.base}{path} with something that is "
                         "not a node; ignored")
        elif node.problem:
            self._notice(f"repo:{node.id}", f"{WHAT}, {node.id}: {node.problem}")
        return node

    @staticmethod
    def _type_path(node_type: str) -> str:
        return f"/comfy-nodes/{urllib.parse.quote(node_type, safe='')}/node"

    @staticmethod
    def _id_path(node_id: str) -> str:
        return f"/nodes/{urllib.parse.quote(node_id.lower(), safe='')}"

    def nodes_for_types(self, node_types: list[str]) -> dict[str, RegistryNode | None]:
        """The pack that provides each type (``/comfy-nodes/{type}/node``), or None."""
        paths = {t: self._type_path(t) for t in node_types}
        documents = self._json_many(list(paths.values()))
        return {t: self._node(path, documents[path]) for t, path in paths.items()}

    def node_for_type(self, node_type: str) -> RegistryNode | None:
        return self.nodes_for_types([node_type])[node_type]

    def nodes(self, node_ids: list[str]) -> dict[str, RegistryNode | None]:
        """Packs by registry id (``/nodes/{id}``), or None."""
        paths = {i: self._id_path(i) for i in node_ids}
        documents = self._json_many(list(paths.values()))
        return {i: self._node(path, documents[path]) for i, path in paths.items()}

    def node(self, node_id: str) -> RegistryNode | None:
        return self.nodes([node_id])[node_id]

    def versions_of(self, node_ids: list[str]) -> dict[str, list[str] | None]:
        """The versions published for each pack (``/nodes/{id}/versions``), or None."""
        paths = {i: f"{self._id_path(i)}/versions" for i in node_ids}
        documents = self._json_many(list(paths.values()))
        return {i: packs.registry_versions(documents[path])
                if documents[path] is not None else None for i, path in paths.items()}

    def versions(self, node_id: str) -> list[str] | None:
        return self.versions_of([node_id])[node_id]

    def download_url(self, node_id: str, version: str) -> str | None:
        """Where the archive of one published version is (``/nodes/{id}/versions/{version}``,
        its ``downloadUrl``), or None: not found, unreachable, a version the registry banned or
        deleted, or an address that is not plain https (each noticed)."""
        path = f"{self._id_path(node_id)}/versions/{urllib.parse.quote(version, safe='')}"
        document = self._json(path)
        if document is None:
            return None
        if not isinstance(document, dict) or "downloadUrl" not in document:
            self._notice("shape", f"{WHAT} answered {self.base}{path} with something that is "
                         "not a node version; ignored")
            return None
        where = f"{WHAT}, {node_id} {version}"
        if document.get("status") in REFUSED_STATUSES:
            self._notice(f"status:{path}", f"{where}: {ui.printable(document['status'])}; "
                         "not downloaded")
            return None
        url = bundle.download_url(document["downloadUrl"])
        if url is None:
            shown = ui.printable(str(document["downloadUrl"])[:80])
            self._notice(f"url:{path}", f"{where}: the archive is at {shown!r}, which is not "
                         "a plain https address; not downloaded")
        return url


def server_modules(web: Web, base: str) -> dict[str, str] | None:
    """Node type → ``python_module`` from a running ComfyUI's ``/object_info``; None (with a
    notice) when the server gives no usable answer."""
    url = f"{base.rstrip('/')}/object_info"
    what = "the ComfyUI server"
    body = web.live(url, max_bytes=SERVER_MAX_BYTES, what=what)
    if body is None:
        return None
    try:
        document = json.loads(body)  # large and from a server the user named: plain json
    except (ValueError, RecursionError) as error:
        web.notices.append(f"{what}: {url} is not JSON ({str(error)[:80]}); not used")
        return None
    if not isinstance(document, dict):
        web.notices.append(f"{what}: {url} is not an object of node types; not used")
        return None
    return {name: info["python_module"] for name, info in document.items()
            if isinstance(info, dict) and isinstance(info.get("python_module"), str)}


def fetch_archive(url: str, into: str, *, max_size: int) -> None:
    """A pack's archive from ``url`` (a :meth:`Registry.download_url`) to the new file
    ``into``, under the user's download policy (:func:`git_comfy.download.policy`: https, or a
    mirror allowed by ``comfy.allowHttp``; git's ``http.sslCAInfo``; tokens only to their own
    host), at most ``max_size`` bytes; removed on any failure, which is one FatalError line."""
    from git_comfy import download  # http.client and ssl: paid only when a pack is installed

    download.fetch_archive(url, into, max_size=max_size, policy=download.policy())
