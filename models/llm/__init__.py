"""The chat model. `llm.py` is Dify's thin model class; `chat.py` runs a request over the protocol `protocol_for`
picks. Dify's side becomes a protocol-neutral request (`exchange.py`) in `conversation.py`, `params.py`, `tools.py`
and `schema.py`; `wire_v1.py` and `wire_v2.py` alone know GigaChat's wire formats; `stream.py` and `sources.py` turn
answers back into Dify's chunks; `files.py`, `sniff.py`, `downloads.py` and `uploads.py` handle the files a prompt
carries, and `generated.py` the images GigaChat draws. The YAML files are the predefined chat models.
"""
