#!/usr/bin/env python3
# Functions the library, the tools and the plugin never call (STYLE.md 10,
# as curl's checksrc and git's banned.h keep them out): unbounded copies
# and formatting, a tokenizer with hidden state, number parsing without
# error reporting. Comments and string literals are not code and are
# skipped. Fails, naming file and line, on any call.
import os
import re
import sys

BANNED = ("strcpy", "strcat", "sprintf", "vsprintf", "strtok", "atoi",
          "gets")
DIRS = ("libztp", "tools", "plugins")
CALL = re.compile(r"(?<![A-Za-z0-9_.>])(" + "|".join(BANNED) + r")\s*\(")


def code_only(text):
    """text with comments and string/char literals blanked, newlines
    kept so that line numbers stay right."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1:j - 1]) + c)
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def main():
    top = os.environ.get("top_srcdir") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..")
    hits, files = [], 0
    for d in DIRS:
        for root, _, names in os.walk(os.path.join(top, d)):
            for name in sorted(names):
                if not name.endswith((".c", ".h")):
                    continue
                path = os.path.join(root, name)
                files += 1
                with open(path, encoding="utf-8", errors="replace") as f:
                    code = code_only(f.read())
                for no, line in enumerate(code.split("\n"), 1):
                    for m in CALL.finditer(line):
                        hits.append("%s:%d: %s()" % (
                            os.path.relpath(path, top), no, m.group(1)))
    if files == 0:
        print("banned: no sources found under %s" % top)
        return 1
    for h in hits:
        print("banned function: " + h)
    print("banned: %d files, %d calls of %s" % (files, len(hits),
                                                ", ".join(BANNED)))
    return 1 if hits else 0


if __name__ == "__main__":
    sys.exit(main())
