#!/usr/bin/env python3
"""Turns the C++ blocks of README.md into one program, so ctest compiles and
runs the quickstart exactly as a reader would copy it.

The blocks run in order in one main(); every block after the first is a
nested scope (it may redeclare names, and sees what the first declared).
#include lines are hoisted. The on-disk example's directory
("/var/lib/crm/tags") is redirected to a fresh temporary directory.
Any .value() on an error status aborts the program, so a README that stops
matching the library fails the test.

usage: readme_cpp.py README.md OUT.cc
"""
import re
import sys


def main() -> int:
    readme, out = sys.argv[1], sys.argv[2]
    text = open(readme, encoding="utf-8").read()
    blocks = re.findall(r"```cpp\n(.*?)```", text, flags=re.S)
    if not blocks:
        print("readme_cpp: no ```cpp blocks in " + readme, file=sys.stderr)
        return 1
    includes, bodies = [], []
    for block in blocks:
        body = []
        for line in block.splitlines():
            (includes if line.startswith("#include") else body).append(line)
        bodies.append("\n".join(body))
    program = ["// Generated from README.md by tests/readme/readme_cpp.py. Do not edit."]
    program += sorted(set(includes))
    program += ["#include <cstdlib>", "#include <filesystem>", "#include <iostream>",
                "#include <string>", "#include <vector>", "", "int main() {",
                '  const std::string readme_dir = (std::filesystem::temp_directory_path() /',
                '      ("tagindex-readme-" + std::to_string(::getpid()))).string();',
                "  std::filesystem::remove_all(readme_dir);"]
    for i, body in enumerate(bodies):
        body = body.replace('"/var/lib/crm/tags"', "readme_dir")
        program.append(("  {\n" if i else "") + body + ("\n  }" if i else ""))
    program += ["  std::filesystem::remove_all(readme_dir);",
                '  std::cout << "README C++ blocks ran: ' + str(len(bodies)) + '" << std::endl;',
                "  return 0;", "}"]
    with open(out, "w", encoding="utf-8") as f:
        f.write("#include <unistd.h>\n" + "\n".join(program) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
