"""The development kit: everything building, testing and measuring the plugin needs, and nothing the plugin ships
(`.difyignore` keeps this folder out of the package).

- `emulator/`: a loopback GigaChat that the real `gigachat` SDK talks to unmodified (`python -m devkit.emulator`).
- `file_server.py`: a loopback file server standing in for Dify's FILES_URL, or for a hostile one.
- `bombs.py`: small payloads that expand enormously (gzip layers, ZIP bombs, sprawling archives).
- `harness/`: runs a plugin as Dify's daemon does, over stdio or remote debugging, and checks every reply.
- `package/`: validates the plugin and writes the `.difypkg` (`python -m devkit.package`, `make package`).
- `bench/`: the benchmarks behind `make bench` (`python -m devkit.bench`, `python -m devkit.bench.embeddings`,
  `python -m devkit.bench.hostile`).
- `load.py`: the load and soak runs behind `make load` (`python -m devkit.load`).
- `demo.py`: `make demo` (`python -m devkit.demo`).
- `miniecho.py`: a throwaway echo plugin, the baseline for harness tests and the cold-start benchmark.
- `find-python.sh`: how the Makefile finds a Python >= 3.12.

Commands run from the repository root; tests import from here, never the other way round.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the repository root, which is the plugin's folder
