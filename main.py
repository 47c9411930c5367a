from dify_plugin import DifyPluginEnv, Plugin

from models.common import raw_requests
from models.common.stdio import ensure_buffered_stdout

ensure_buffered_stdout()
# Each raw request is checked (a malformed one ends in one typed error naming the fields) and its top-level
# `tool_choice`, which dify_plugin 0.10.2 would drop, is kept for the LLM (models/common/raw_requests.py).
plugin = raw_requests.intercept(Plugin(DifyPluginEnv()))

if __name__ == "__main__":
    plugin.run()
