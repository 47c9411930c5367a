"""The embedding models. `text_embedding.py` is Dify's thin model class; `embed.py` runs a call: long texts split and
merged into one vector, requests batched and run concurrently within the scope's GigaChat streams; `batching.py`
holds its pure helpers (conservative counts, splitting, request plans, merging). The YAML files are the predefined
embedding models.
"""
