"""The GigaChat provider: `gigachat.yaml` is the credential form Dify shows and the list of model types and sources;
`gigachat.py` validates a credential set by listing the host's models (free of tokens).
"""
