from __future__ import annotations

from typing import TYPE_CHECKING

from efadoctor import Layer, Severity, check, failed, passed
from efadoctor.checks.lint._cite import at, fix_text, lint_again

if TYPE_CHECKING:
    from efadoctor.parsers.manifests import LoadResult

_FIXES = {
    "duplicate-key": "Merge the two blocks into one key: PyYAML and many other loaders keep only the last one and "
    "drop the first without a word, so everything under the first is silently lost.",
    "tab": "Indent with spaces: YAML forbids tabs in indentation.",
    "syntax": "Fix the YAML at that line; an unexpanded shell variable such as ${VPC_AZ} means the file was copied "
    "out of a heredoc without running it through the shell.",
    "not-a-mapping": "A Kubernetes object (or Helm values file) is a mapping of keys; remove the stray document or "
    "indent it under its key.",
    "too-complex": "Write the document out without anchors/aliases (or with far fewer).",
    "io": "Check the path; efadoctor lints files, directories (*.yaml, *.yml) and - for stdin.",
    "too-large": "Lint the file in smaller pieces; a manifest that large is not a hand-written one.",
    "binary": "Point efadoctor at the YAML text, not at a binary or differently encoded file.",
    "no-yaml": "Point efadoctor at the directory that holds the *.yaml/*.yml files.",
}


@check(
    id="LINT001",
    title="The manifests parse as YAML, without duplicate keys or tabs",
    layer=Layer.POD_SPEC,
    severity=Severity.HIGH,
    symptoms=(),
    targets=("manifests",),
)
def manifests_parse_cleanly(manifests: LoadResult):
    """
    ## Why it matters
    A document that does not parse is never applied, and one broken document
    in a multi-document file makes `kubectl apply -f` stop there. A duplicate
    key is worse because nothing fails: YAML loaders keep only the last
    value, so a runbook's second `spec:` at the same level silently throws
    away `amiFamily`, the subnet and security-group selectors and everything
    else under the first one. Tabs are not allowed as YAML indentation. A
    shell heredoc such as `values: [${VPC_AZ}]` only becomes YAML after the
    shell expands it. An input that could not be read at all (missing,
    binary, over the size limit, an alias bomb) is reported here when other
    inputs were linted; when nothing could be read the run ends with exit 2.

    ## Fix
    Fix the YAML at the reported line: merge duplicate keys into one block,
    indent with spaces, expand shell variables before saving the file.
    """
    problems = list(manifests.problems)
    if not problems:
        return passed(
            f"{len(manifests.documents)} document(s) in {len(manifests.sources)} input(s) parse cleanly",
            evidence=[(at(s, None), "parsed without problems") for s in manifests.sources[:5]],
        )
    evidence = [(at(p.source, p.line), f"{p.code}: {p.message}") for p in problems]
    codes = sorted({p.code for p in problems}, key=list(_FIXES).index)
    sentences = " ".join(_FIXES[c] for c in codes if c in _FIXES)
    snippets = [f"# {p.source}:{p.line or '-'} ({p.code}) {p.message}" for p in problems]
    first = problems[0]
    where = f"{first.source}:{first.line}" if first.line else first.source
    more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
    return failed(
        f"{where}: {first.code.replace('-', ' ')}: {first.message}{more}",
        fix=fix_text(sentences, snippets),
        commands=lint_again([p.source for p in problems]),
        evidence=evidence,
    )
