"""Fill empty msgstr entries of a .po file from a JSON mapping {msgid: msgstr}.

Usage: python scripts/fill_po.py APP/locale/vi/LC_MESSAGES/django.po mapping.json
Entries already translated are left alone, and fuzzy marks are
removed from the entries it fills.
"""

import json
import re
import sys


def escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def main(po_path: str, mapping_path: str) -> None:
    mapping = json.load(open(mapping_path, encoding="utf-8"))
    text = open(po_path, encoding="utf-8").read()
    filled = 0

    def unquote(block: str) -> str:
        pieces = re.findall(r'"((?:[^"\\]|\\.)*)"', block)
        raw = "".join(pieces)
        return raw.encode("utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")

    def fill(match: re.Match) -> str:
        nonlocal filled
        msgid = unquote(match.group(2))
        if msgid and msgid in mapping:
            filled += 1
            return f"msgid {match.group(2)}msgstr \"{escape(mapping[msgid])}\"\n"
        return match.group(0)

    text = re.sub(r'(?m)^#, fuzzy\n(?=(#.*\n)*msgid "[^"])', "", text)
    text = re.sub(r'(?m)^(msgid ((?:"(?:[^"\\]|\\.)*"\n)+)msgstr ""\n)(?!")', fill, text)
    open(po_path, "w", encoding="utf-8").write(text)
    print(f"{po_path}: filled {filled}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
