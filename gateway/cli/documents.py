"""``gateway documents add|list|remove``: the trusted documents an app may send.

An operator registers the operations a front end ships, from ``.graphql`` files (each
file one document, sent exactly as written) or a client's manifest (JSON: Apollo's
persisted-query manifest, or graphql-codegen's ``{hash: document}`` map). Callers limited
by ``graphql.trusted_documents_only`` may then run those and nothing else, by hash or in
full. Every change is audited.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError, OperationDefinitionNode, parse

from gateway.cli.common import UsageError, os_user, run_async
from gateway.config import Settings

if TYPE_CHECKING:
    import argparse

    from gateway.records import Records

__all__ = ["add_documents", "documents_in"]


def add_documents(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``gateway documents`` and its actions."""
    documents = sub.add_parser(
        "documents", help="trusted documents: the operations an app may send"
    ).add_subparsers(metavar="ACTION")
    add = documents.add_parser(
        "add",
        help="register documents from .graphql files or a client manifest (JSON)",
        description="Each .graphql file is one document, hashed exactly as written (send it "
        "byte for byte). A .json file is a manifest: Apollo's persisted-query manifest "
        '({"format": "apollo-persisted-query-manifest", "operations": [...]}) or a map '
        "of SHA-256 to document (graphql-codegen's persisted documents). A document that "
        "does not parse, or whose given hash is not its SHA-256, stops the command before "
        "anything is registered.",
    )
    add.add_argument("files", nargs="+", metavar="FILE")
    add.add_argument("--config", metavar="FILE")
    add.set_defaults(run=_add)
    listing = documents.add_parser("list", help="the trusted documents: hash, name, when, who")
    listing.add_argument("--config", metavar="FILE")
    listing.set_defaults(run=_list)
    remove = documents.add_parser("remove", help="forget documents by hash")
    remove.add_argument("hashes", nargs="+", metavar="SHA256")
    remove.add_argument("--config", metavar="FILE")
    remove.set_defaults(run=_remove)


def documents_in(path: Path) -> list[tuple[str, str | None]]:
    """The (document, name) pairs a file holds; :class:`UsageError` when it is not one."""
    from gateway.records.documents import sha256_of

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read it ({exc})") from None
    found: list[tuple[str, str | None, str | None]] = []  # (body, name, hash it claims)
    if path.suffix == ".json":
        try:
            manifest: Any = json.loads(text)
        except ValueError as exc:
            raise UsageError(f"{path}: not JSON ({exc})") from None
        if isinstance(manifest, dict) and isinstance(manifest.get("operations"), list):
            for operation in manifest["operations"]:
                if not isinstance(operation, dict) or not isinstance(operation.get("body"), str):
                    raise UsageError(f"{path}: an operation without a body: {operation!r:.80}")
                found.append((operation["body"], operation.get("name"), operation.get("id")))
        elif isinstance(manifest, dict) and all(isinstance(v, str) for v in manifest.values()):
            found.extend((body, None, claimed) for claimed, body in manifest.items())
        else:
            raise UsageError(
                f"{path}: neither an Apollo persisted-query manifest nor a map of hash to document"
            )
    else:
        found.append((text, path.stem, None))
    out: list[tuple[str, str | None]] = []
    for body, name, claimed in found:
        if claimed is not None and claimed != sha256_of(body):
            raise UsageError(f"{path}: {claimed[:16]}... is not the SHA-256 of its document")
        try:
            parsed = parse(body)
        except GraphQLError as exc:
            raise UsageError(f"{path}: a document that is not GraphQL: {exc.message}") from None
        operations = [d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)]
        if not operations:
            raise UsageError(f"{path}: a document without an operation")
        if name is None and len(operations) == 1 and operations[0].name is not None:
            name = operations[0].name.value
        out.append((body, name if isinstance(name, str) else None))
    return out


async def _records(settings: Settings) -> Records:
    from gateway.records import Records

    if settings.zero_config:
        settings.data_dir.mkdir(parents=True, exist_ok=True)  # as `serve` makes it
    records = Records.for_settings(settings)
    await records.create_schema()
    return records


async def _audit(records: Records, operation: str, hashes: list[str]) -> None:
    from gateway.domain.permissions import Action
    from gateway.records import AuditEntry, Outcome

    await records.record(
        AuditEntry(
            at=datetime.now(UTC),
            actor=f"cli:{os_user()}",
            issuer=None,
            action=Action.ADMINISTER.value,
            outcome=Outcome.OK,
            store=None,
            space_key=None,
            target=None,
            detail={"operation": operation, "documents": hashes},
        )
    )


@run_async
async def _add(args: argparse.Namespace) -> int:
    pairs = [pair for name in args.files for pair in documents_in(Path(name))]
    settings = Settings.load(args.config)
    records = await _records(settings)
    try:
        now, by = datetime.now(UTC), f"cli:{os_user()}"
        added = [
            await records.register_document(body, trusted=True, name=name, by=by, now=now)
            for body, name in pairs
        ]
        await _audit(records, "addTrustedDocuments", [d.sha256 for d in added])
    finally:
        await records.close()
    for document in added:
        print(f"{document.sha256}  {document.name or '-'}")
    print(f"{len(added)} trusted document(s) registered")
    return 0


@run_async
async def _list(args: argparse.Namespace) -> int:
    settings = Settings.load(args.config)
    records = await _records(settings)
    try:
        found = await records.trusted_documents()
    finally:
        await records.close()
    for document in found:
        when = document.registered_at.strftime("%Y-%m-%d %H:%M")
        print(f"{document.sha256}  {document.name or '-':<30}  {when}  {document.registered_by}")
    print(f"{len(found)} trusted document(s)")
    return 0


@run_async
async def _remove(args: argparse.Namespace) -> int:
    settings = Settings.load(args.config)
    records = await _records(settings)
    missing = []
    try:
        removed = []
        for sha256 in args.hashes:
            if await records.remove_document(sha256.lower()):
                removed.append(sha256.lower())
            else:
                missing.append(sha256)
        if removed:
            await _audit(records, "removeTrustedDocuments", removed)
    finally:
        await records.close()
    for sha256 in missing:
        print(f"gateway: no document {sha256}", file=sys.stderr)
    print(f"{len(removed)} document(s) removed")
    return 1 if missing else 0
