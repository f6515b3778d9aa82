#!/usr/bin/python3
"""Walks the "## Programs" table of docs/input-checks.md: runs every row against every program
whose --help lists the row's first flag (for a misspelt flag: the flag its message suggests),
in an empty folder, and requires exit status 1 or a CLI11 parse-error code (100-115), the row's
message on stderr in at most three lines, and no file or folder left behind. Options --help marks REQUIRED that a row does not set get an empty
file, so the row's own check is what fails. Every row must apply to at least one program.

    check_inputs.py DOC PROGRAM...
"""
import os
import re
import subprocess
import sys
import tempfile


def rows(doc):
    out, section = [], None
    for line in open(doc, encoding="utf-8"):
        if line.startswith("## "):
            section = line.strip()[3:]
        m = re.match(r"\| `([^`]+)` \| `([^`]+)` \|", line)
        if section == "Programs" and m:
            out.append((m.group(1).split(), m.group(2)))
    return out


def main():
    doc, programs = sys.argv[1], sys.argv[2:]
    table = rows(doc)
    assert table, f"no rows in {doc}"
    failures, runs, used = [], 0, set()
    with tempfile.TemporaryDirectory() as tmp:
        a_file = os.path.join(tmp, "a_file")
        open(a_file, "w").close()
        for program in programs:
            name = os.path.basename(program)
            helptext = subprocess.run([program, "--help"], capture_output=True, text=True, timeout=30).stdout
            required = re.findall(r"(--[a-z-]+) \S+ REQUIRED", helptext)
            for args, message in table:
                suggested = re.search(r"did you mean (--[a-z-]+)", message)
                flag = suggested.group(1) if suggested else args[0]
                if not re.search(r"(^|\s)" + re.escape(flag) + r"[\s=]", helptext) and flag != "--bogus":
                    continue
                used.add(" ".join(args))
                argv = [program] + [a.replace("{file}", a_file) for a in args]
                argv += [x for flag in required if flag not in args for x in (flag, a_file)]
                work = tempfile.mkdtemp(dir=tmp)
                r = subprocess.run(argv, capture_output=True, text=True, cwd=work, timeout=120)
                runs += 1
                problems = []
                if r.returncode != 1 and not 100 <= r.returncode <= 115:
                    problems.append(f"exit status {r.returncode}, not 1 or a CLI11 code 100-115")
                if message not in r.stderr:
                    problems.append(f"stderr lacks '{message}'")
                if len(r.stderr.strip().splitlines()) > 3:
                    problems.append(f"{len(r.stderr.strip().splitlines())} lines on stderr")
                if os.listdir(work):
                    problems.append(f"left {sorted(os.listdir(work))} behind")
                if problems:
                    failures.append(f"{name} {' '.join(args)}: {'; '.join(problems)}\n    stderr: {r.stderr.strip()[:300]}")
    unused = [" ".join(a) for a, _ in table if " ".join(a) not in used]
    for f in failures:
        print("FAIL", f)
    if unused:
        print("FAIL rows no program takes:", unused)
    print(f"check_inputs: {runs} runs of {len(programs)} programs over {len(table)} rows, "
          f"{len(failures)} failures")
    sys.exit(1 if failures or unused else 0)


if __name__ == "__main__":
    main()
