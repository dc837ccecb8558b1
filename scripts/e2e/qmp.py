#!/usr/bin/env python3
"""Run one QMP command on a QEMU and print what it returned, as JSON.

    scripts/e2e/qmp.py SOCKET COMMAND [ARGUMENTS-JSON]

SOCKET is the path of a `-qmp unix:PATH,server=on,wait=off` socket. The
script reads the greeting, negotiates capabilities, sends COMMAND with the
arguments (a JSON object) and prints the command's "return" value on one
line; asynchronous events in between are skipped.

Exit status: 0 on a return, 1 when QEMU answers with an error (printed on
stderr) or the connection fails, 2 on bad usage.
"""

import json
import socket
import sys


def exchange(sock_file, request):
    """Send @request (a dict) and return QEMU's answer to it, events skipped."""
    sock_file.write(json.dumps(request) + "\n")
    sock_file.flush()
    for line in sock_file:
        msg = json.loads(line)
        if "event" not in msg:
            return msg
    raise ConnectionError("QEMU closed the QMP connection")


def run(path, command, arguments):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(30)
        s.connect(path)
        f = s.makefile("rw", encoding="utf-8")
        greeting = json.loads(f.readline())
        if "QMP" not in greeting:
            raise ConnectionError(f"no QMP greeting: {greeting}")
        answer = exchange(f, {"execute": "qmp_capabilities"})
        if "error" in answer:
            raise ConnectionError(f"qmp_capabilities: {answer['error']}")
        request = {"execute": command}
        if arguments:
            request["arguments"] = arguments
        return exchange(f, request)


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        arguments = json.loads(sys.argv[3]) if len(sys.argv) == 4 else None
    except json.JSONDecodeError as e:
        print(f"qmp: arguments are not JSON: {e}", file=sys.stderr)
        return 2
    try:
        answer = run(sys.argv[1], sys.argv[2], arguments)
    except (OSError, ValueError) as e:
        print(f"qmp: {sys.argv[2]}: {e}", file=sys.stderr)
        return 1
    if "error" in answer:
        print(f"qmp: {sys.argv[2]}: {answer['error'].get('desc', answer['error'])}",
              file=sys.stderr)
        return 1
    print(json.dumps(answer.get("return", {})))
    return 0


if __name__ == "__main__":
    sys.exit(main())
