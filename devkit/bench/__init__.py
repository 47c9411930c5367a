"""The benchmarks behind `make bench` (`python -m devkit.bench`): what the plugin adds on top of GigaChat, each figure
beside its best possible baseline measured in the same run; and the embeddings benchmark
(`python -m devkit.bench.embeddings`). See __main__.py for the figures and the modules that measure them."""
