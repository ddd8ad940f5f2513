"""Turn the benchmarks' JSON output in docs/_data/ into reStructuredText tables.

    python docs/_tables.py          # writes docs/_generated/<name>.rst

``docs/conf.py`` runs this at every build, so the accuracy and speed pages
show what the JSON files say, never numbers pasted by hand. A JSON file holds
``tables`` (each with ``title``, ``columns``, ``rows`` and optionally
``formats``), or one table's ``columns`` and ``rows`` at its top level, as
``benchmarks/accuracy.py --json`` and ``benchmarks/bench_core.py --json``
write them; ``command``, ``date``, ``machine``, ``versions`` and ``note``
become the line under the table.
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))

#: Cell formats by column header; a number in another column is written with ``{:.3g}``.
FORMATS = {
    "nbnumba": "{:.1e}", "scipy": "{:.1e}",
    "Melem/s": "{:.1f}", "G elem/s": "{:.1f}", "M draws/s": "{:.1f}",
    "vs scipy": "{:.1f}x", "ratio": "{:.2f}x", "nbnumba / NumPy": "{:.2f}x",
    "s": "{:.2f}",
}


def _cell(value, fmt):
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or isinstance(value, int) and fmt is None:
        return str(value)
    return (fmt or "{:.3g}").format(value)


def table_rst(table):
    """One ``list-table`` directive (a list of lines)."""
    columns = table["columns"]
    formats = table.get("formats") or [FORMATS.get(c) for c in columns]
    lines = [f".. list-table:: {table.get('title', '')}".rstrip(),
             "   :header-rows: 1", ""]
    for row in [columns] + [[_cell(v, f) for v, f in zip(r, formats)] for r in table["rows"]]:
        for i, value in enumerate(row):
            text = str(value).replace("*", r"\*").replace("|", r"\|") or r"\ "
            lines.append(f"   {'*' if i == 0 else ' '} - {text}")
    lines.append("")
    if table.get("note"):
        lines += [table["note"], ""]
    return lines


def source_line(data):
    parts = []
    if data.get("command"):
        parts.append(f"``{data['command']}``")
    if data.get("date"):
        parts.append(data["date"])
    if data.get("machine"):
        parts.append(data["machine"])
    if data.get("versions"):
        parts.append(", ".join(f"{k} {v}" for k, v in data["versions"].items()))
    return "From " + "; ".join(parts) + "." if parts else ""


def render(data):
    """The reStructuredText of one JSON file's tables."""
    lines = []
    for table in data.get("tables") or [data]:
        lines += table_rst(table)
    src = source_line(data)
    if src:
        lines += [src, ""]
    if data.get("note"):
        lines += [data["note"], ""]
    return "\n".join(lines)


def main(src=os.path.join(HERE, "_data"), dst=os.path.join(HERE, "_generated")):
    os.makedirs(dst, exist_ok=True)
    for name in sorted(os.listdir(src)):
        if name.endswith(".json"):
            with open(os.path.join(src, name)) as f:
                text = render(json.load(f))
            out = os.path.join(dst, name[:-5] + ".rst")
            old = open(out).read() if os.path.exists(out) else None
            if text != old:                 # unchanged files keep Sphinx's cache valid
                with open(out, "w") as f:
                    f.write(text)


if __name__ == "__main__":
    main()
