"""The plugin's model code, in Dify's layout: one folder per model type, and what they share.

- `common/`: what every model type needs: credential settings, one SDK client per credential set, TLS trust,
  retries, error mapping, bounded reading, token estimates, the customizable-model catalog and prices.
- `llm/`: the chat model: Dify's messages, tools, files and parameters to GigaChat's v1 or v2 chat and back.
- `text_embedding/`: the embedding models: batching, concurrency within the scope's streams, long texts.

Each folder's model YAML files declare the predefined models; docs/architecture.md maps every module to its rule.
"""
