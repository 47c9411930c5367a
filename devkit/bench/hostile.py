"""What one hostile request costs the packaged plugin: the figures of docs/reliability.md's hostile-input table.

    .venv/bin/python -m devkit.bench.hostile [--plugin DIR]

Each input is sent once through the daemon harness to a freshly installed plugin; printed per input: the time from
request line to `end` on the harness's clock, the most the plugin process's resident memory grew meanwhile (sampled
with psutil), and how the request ended. `--plugin` measures another checkout of the plugin (an older commit, for a
"before" column) with this checkout's tools.
"""

from __future__ import annotations

import argparse
import base64
import math
import sys
from collections.abc import Callable
from pathlib import Path

from devkit import ROOT, table
from devkit.bombs import MiB, gzip_layers, zip_bomb, zip_of_entries
from devkit.emulator import Fault, Reply
from devkit.file_server import FileServer
from devkit.harness import messages as m
from devkit.rig import MODEL, PROVIDER, PeakMemory, Rig, credentials_for, running_rig, timed_request

BOMB = 128 * MiB
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
VISION_MODEL = "GigaChat-2-Max"


def _about(creds: dict, part: dict | None = None, stream: bool = True) -> dict:
    content = [m.text_part("What is in it?"), part] if part else "hello"
    return m.invoke_llm(PROVIDER, VISION_MODEL if part else MODEL, creds, [m.user(content)], stream=stream)


def _document(data: bytes) -> dict:
    return m.document_part(base64_data=base64.b64encode(data).decode(), mime_type=DOCX, filename="x.docx")


def _cases(rig: Rig, files: FileServer) -> list[tuple[str, Callable[[], None], dict]]:
    """(input, what to set up first, the request)."""
    emu, creds = rig.emulator, rig.creds
    slow = credentials_for(emu, api_key=rig.key, request_timeout="2")
    gzipped = {"Content-Encoding": "gzip, gzip"}
    bomb = gzip_layers(BOMB, 2)
    image = m.image_part
    return [
        ("DOCX whose `mimetype` entry inflates to 128 MiB", lambda: None,
         _about(creds, _document(zip_bomb("mimetype", BOMB, declared=20)))),
        ("DOCX whose document expands about 1,000 times", lambda: None,
         _about(creds, _document(zip_bomb("word/document.xml", BOMB)))),
        ("ZIP of 65,000 entries", lambda: None, _about(creds, _document(zip_of_entries(65_000)))),
        ("Download gzipped twice into 128 MiB", lambda: None,
         _about(creds, image(url=files.serve("/b.png", bomb, "image/png", headers=gzipped), filename="b.png"))),
        ("Download dripping a byte every 0.05 s, Request timeout 2 s", lambda: None,
         _about(slow, image(url=files.serve("/d.png", bytes(420), "image/png", drip=0.05), filename="d.png"))),
        ("Answer body gzipped twice into 128 MiB",
         lambda: emu.inject(Fault.raw(200, bomb, {"Content-Type": "application/json", **gzipped})),
         _about(creds, stream=False)),
        ("Event line gzipped twice into 128 MiB",
         lambda: emu.inject(Fault.raw(200, bomb, {"Content-Type": "text/event-stream", **gzipped})), _about(creds)),
        ("Stream of 200 events, one every 0.25 s, Request timeout 2 s",
         lambda: (emu.inject(Fault.trickle(0.25)), emu.script(Reply(text=["w "] * 200))), _about(slow)),
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devkit.bench.hostile", description=__doc__.split("\n")[0])
    parser.add_argument("--plugin", type=Path, default=ROOT, help="the plugin checkout to measure (default: this one)")
    args = parser.parse_args(argv)
    rows = []
    with running_rig(source=args.plugin) as rig, FileServer() as files:
        rig.warm_up()
        for name, setup, data in _cases(rig, files):
            rig.emulator.reset()
            setup()
            with PeakMemory(rig.plugin.pid) as memory:
                try:
                    reply, seconds = timed_request(rig.plugin, data, 120)
                    ended = f"{reply.error['error_type']}" if reply.error else "answered"
                except (TimeoutError, RuntimeError) as error:
                    seconds, ended = math.nan, f"no answer in 120 s ({type(error).__name__})"
            rows.append((name, f"{seconds:.2f} s", f"+{memory.growth / MiB:.0f} MiB", ended))
    print(table.markdown(("Hostile input", "Time", "Resident memory", "Ended"), rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
