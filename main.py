from dify_plugin import DifyPluginEnv, Plugin

from models.common.request_check import reject_malformed_requests
from models.common.stdio import ensure_buffered_stdout
from models.llm.tools import forward_tool_choice

ensure_buffered_stdout()
# The hook passes the daemon's top-level `tool_choice` on to the LLM, which dify_plugin 0.10.2 would drop.
# Requests dify_plugin cannot parse end in one typed error naming the fields (models/common/request_check.py).
plugin = reject_malformed_requests(forward_tool_choice(Plugin(DifyPluginEnv())))

if __name__ == "__main__":
    plugin.run()
