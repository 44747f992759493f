#!/usr/bin/env python3
"""Seeds test/fuzz/corpus/ from the unit tests and the config files (docs/fuzzing.md).

Every string expression in the codec tests that looks like HTTP (a chain of C++ string
literals joined by `+`, std::string(N, 'c') and the tests' prefix variables) becomes one
corpus file per split mode: control byte 0x00 (whole) and 0x01 (byte by byte); responses
also with 0x40 (after a HEAD request). Config files are copied, plus broken variants.
Files are named by content hash, so running it again only adds what is new."""

import hashlib
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = ROOT / "test/fuzz/corpus"

ESCAPES = {"r": "\r", "n": "\n", "t": "\t", "0": "\0", "\\": "\\", '"': '"', "'": "'"}


def decode(literal):
    out, i = [], 0
    while i < len(literal):
        c = literal[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        n = literal[i + 1]
        if n == "x":
            m = re.match(r"[0-9a-fA-F]{1,2}", literal[i + 2:])
            out.append(chr(int(m.group(0), 16)))
            i += 2 + len(m.group(0))
        else:
            out.append(ESCAPES[n])
            i += 2
    return "".join(out)


TOKEN = re.compile(
    r'"((?:[^"\\]|\\.)*)"'  # a string literal
    r"|std::string\((\d+)(?:\s*\*\s*(\d+))?,\s*'(.)'\)"  # std::string(N [* M], 'c')
    r"|(\+)"  # concatenation
    r"|([A-Za-z_][A-Za-z_0-9]*)"  # a name (a prefix variable, or anything else)
    r"|(\s+)"
    r"|(.)",
    re.S,
)


def chains(source, variables):
    """Yields the value of each maximal chain of string pieces joined by + or adjacency."""
    current, pending_plus = None, False
    for m in TOKEN.finditer(source):
        literal, count, times, char, plus, name, space, other = m.groups()
        piece = None
        if literal is not None:
            piece = decode(literal)
        elif count is not None:
            piece = char * (int(count) * (int(times) if times else 1))
        elif name is not None and name in variables:
            piece = variables[name]
        elif plus is not None:
            pending_plus = True
            continue
        elif space is not None:
            continue
        if piece is not None:
            current = piece if current is None else current + piece
            pending_plus = False
            continue
        if current is not None:
            yield current
        current, pending_plus = None, False
    if current is not None:
        yield current


def write(target, data):
    directory = CORPUS / target
    directory.mkdir(parents=True, exist_ok=True)
    (directory / hashlib.sha1(data).hexdigest()).write_bytes(data)


def http_cases(test_file, variables, looks_like):
    text = (ROOT / test_file).read_text()
    return {c for c in chains(text, variables) if looks_like(c)}


def main():
    request_vars = {
        "get": "GET / HTTP/1.1\r\nHost: a\r\n",
        "post_chunked": "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
    }
    requests = http_cases(
        "test/common/http/server_codec_impl_test.cc", request_vars,
        lambda c: " HTTP/" in c or c.startswith("\x16") or c.startswith("hello"))
    # Built in loops in the tests.
    many = "GET / HTTP/1.1\r\nHost: a\r\n" + "".join(f"X-{i}: v\r\n" for i in range(100))
    requests.add(many + "\r\n")
    requests.add("GET / HTTP/1.1\r\nHost: a\r\n" +
                 "".join(f"X-{i}: " + "v" * 700 + "\r\n" for i in range(90)) + "\r\n")
    for request in requests:
        data = request.encode("latin-1")
        for control in (b"\x00", b"\x01") if len(data) < 8192 else (b"\x00",):
            write("request_codec", control + data)

    response_vars = {"chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"}
    responses = http_cases(
        "test/common/http/client_codec_impl_test.cc", response_vars,
        lambda c: c.startswith("HTTP/") or c.startswith("http/") or c.startswith("ICY")
        or c.startswith("garbage") or c.startswith("<html>"))
    responses.add("HTTP/1.1 200 OK\r\n" + "".join(f"X-{i}: v\r\n" for i in range(100)) + "\r\n")
    for response in responses:
        data = response.encode("latin-1")
        for control in (b"\x00", b"\x01", b"\x40", b"\x80") if len(data) < 8192 else (b"\x00",):
            write("response_codec", control + data)

    configs = list((ROOT / "config").glob("*.yml"))
    configs += list((ROOT / "test/server/config/testdata").glob("*.yml"))
    seed = pathlib.Path("/work/shared/seed")
    if seed.is_dir():
        configs += [p for p in seed.glob("*.yml") if "compose" not in p.name
                    and "prometheus" not in p.name]
    # The YAML the loader's tests feed it, good and bad.
    loader_tests = (ROOT / "test/server/config/config_loader_test.cc").read_text()
    for text in chains(loader_tests, {}):
        if ":" in text and "\n" in text:
            write("config", text.encode())
    for path in configs:
        text = path.read_bytes()
        write("config", text)
        # Broken variants: cut short, a tab indent, an unknown key, a bad port, the
        # environment override.
        write("config", text[: len(text) // 2])
        write("config", text.replace(b"  ", b"\t", 1))
        write("config", text + b"\nbogus_key: 1\n")
        write("config", re.sub(rb":(\d+)", b":99999", text, count=1))
        write("config", b"#env::42099\n" + text)
        write("config", b"#env:nonsense\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
