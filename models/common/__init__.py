"""What the chat and embedding models share: settings from Dify's credential form (`settings.py`), one `gigachat`
SDK client per credential set (`client.py`), TLS trust with the bundled Russian Trusted CAs (`trust.py`, `certs/`),
bounded reading (`bounded.py`), the one retry layer (`retry.py`), errors mapped to Dify's types (`errors.py`,
`prefix.py`), the offline token estimate (`tokens.py`), customizable models and their prices (`catalog.py`,
`pricing.py`), credential validation (`validation.py`, `model_base.py`), and the plugin process itself: raw requests
checked before dify_plugin parses them (`raw_requests.py`), reply lines written whole (`stdio.py`), request code
imported after the first heartbeat (`warm_up.py`).
"""
