"""MkDocs hook: the table of every metric, rendered from the metric registry when the site is built.

A page that holds the line `<!-- metric-table -->` gets, in its place, one row per registered metric
(`dismetrics.metrics.registry`): name and aliases, kind, what it takes (test split, randomness, factor
types), its range and direction, its preset entries and its docs page. The table can therefore never
disagree with what `evaluate`, `dismetrics score` and `dismetrics metrics` run.
"""

from __future__ import annotations

MARKER = "<!-- metric-table -->"


def _range(spec) -> str:
    low, high = spec.value_range
    return f"[{low:g}, {'&infin;' if high is None else f'{high:g}'}]"


def _presets(spec) -> str:
    entries = []
    for preset, params in spec.presets.items():
        if params:
            entries.append(f"{preset}: " + ", ".join(f"`{key}={value!r}`" for key, value in params.items()))
    return "<br>".join(entries) or "&mdash;"


def metric_table() -> str:
    """The Markdown table of the registry."""
    from dismetrics.metrics.registry import metric_specs

    lines = ["| metric | kind | takes | value | presets | page |", "| --- | --- | --- | --- | --- | --- |"]
    for spec in metric_specs():
        names = f"`{spec.name}`" + "".join(f"<br>`{alias}`" for alias in spec.aliases)
        takes = ", ".join([*(["test split"] if spec.takes_test else []), *(["random_state"] if spec.random else []),
                           "/".join(spec.factor_types) + " factors"])
        page = f"[{spec.title}]({spec.docs})" if spec.docs else spec.title
        lines.append(f"| {names} | {spec.kind} | {takes} | {_range(spec)}, {spec.direction} is better | "
                     f"{_presets(spec)} | {page} |")
    return "\n".join(lines)


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: ARG001 - the MkDocs hook signature
    return markdown.replace(MARKER, metric_table()) if MARKER in markdown else markdown
