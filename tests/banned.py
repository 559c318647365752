#!/usr/bin/env python3
# Functions the library, the tools and the plugin never call (STYLE.md 10,
# as curl's checksrc and git's banned.h keep them out): unbounded copies
# and formatting, a tokenizer with hidden state, number parsing without
# error reporting. Comments and string literals are not code and are
# skipped. Fails, naming file and line, on any call.
#
# Second rule: the protocol's wire codes are defined once, in
# libztp/core/protocol.c; no device or verifier source spells one as a
# string literal (it names the ztp__wire value instead).
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


PROTOCOL_C = os.path.join("libztp", "core", "protocol.c")
WIRE_DIRS = (os.path.join("libztp", "device"), os.path.join("libztp", "verifier"))
WIRE_ENTRY = re.compile(r'\[ZTP__W_[A-Z_]+\]\s*=\s*\{"([a-z_]+)",\s*[0-9]+\}')
LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
# Literals that are not wire codes although they are spelled like one.
NOT_WIRE = {
    (os.path.join("libztp", "verifier", "config.c"), "key_policy"):
        "the configuration member ztp-verify.json(5) calls key_policy",
}


def sources(top, dirs):
    for d in dirs:
        for root, _, names in os.walk(os.path.join(top, d)):
            for name in sorted(names):
                if name.endswith((".c", ".h")):
                    yield os.path.join(root, name)


def strip_comments(text):
    """text without comments (literals kept), newlines kept."""
    return re.sub(r"/\*.*?\*/|//[^\n]*",
                  lambda m: re.sub(r"[^\n]", " ", m.group(0)), text,
                  flags=re.S)


def wire_literals(top):
    with open(os.path.join(top, PROTOCOL_C), encoding="utf-8") as f:
        names = set(WIRE_ENTRY.findall(f.read()))
    if len(names) < 20:
        return ["%s: found only %d wire codes" % (PROTOCOL_C, len(names))]
    hits = []
    for path in sources(top, WIRE_DIRS):
        rel = os.path.relpath(path, top)
        with open(path, encoding="utf-8", errors="replace") as f:
            text = strip_comments(f.read())
        for no, line in enumerate(text.split("\n"), 1):
            for m in LITERAL.finditer(line):
                if m.group(1) in names and (rel, m.group(1)) not in NOT_WIRE:
                    hits.append("%s:%d: \"%s\"" % (rel, no, m.group(1)))
    return hits


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
    wire = wire_literals(top)
    for h in wire:
        print("wire code spelled outside core/protocol.c: " + h)
    print("banned: %d wire code literals in device and verifier"
          % len(wire))
    return 1 if hits or wire else 0


if __name__ == "__main__":
    sys.exit(main())
