"""Fill translations into a .po file from a JSON object {msgid: msgstr}.

Usage: .venv/bin/python scripts/po_apply.py zh.json [locale/zh_Hans/LC_MESSAGES/django.po]
Plural entries take the same msgstr for every form (Chinese has one). Entries
marked fuzzy by makemessages are cleared of the mark when given a translation.
Prints the msgids still untranslated. Then run `manage.py compilemessages`.
"""

import json
import sys

import polib


def main():
    with open(sys.argv[1], encoding="utf-8") as source:
        translations = json.load(source)
    path = sys.argv[2] if len(sys.argv) > 2 else "locale/zh_Hans/LC_MESSAGES/django.po"
    po = polib.pofile(path)
    for entry in po:
        if entry.msgid in translations:
            text = translations[entry.msgid]
            if entry.msgid_plural:
                entry.msgstr_plural = {0: text}
            else:
                entry.msgstr = text
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
                entry.previous_msgid = None
                entry.previous_msgid_plural = None
    po.save(path)
    missing = [e.msgid for e in po if not e.obsolete and (not e.translated() or "fuzzy" in e.flags)]
    for msgid in missing:
        print("untranslated:", repr(msgid))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
