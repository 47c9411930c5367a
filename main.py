from dify_plugin import DifyPluginEnv, Plugin

from models.common import raw_requests, warm_up
from models.common.stdio import ensure_buffered_stdout

ensure_buffered_stdout()
# Each raw request is checked (a malformed one ends in one typed error naming the fields) and its top-level
# `tool_choice`, which dify_plugin 0.10.2 would drop, is kept for the LLM (models/common/raw_requests.py).
plugin = raw_requests.intercept(Plugin(DifyPluginEnv()))
# Starting loads no request code; it is imported once the first heartbeat is out (models/common/warm_up.py).
warm_up.after_first_heartbeat(plugin)

if __name__ == "__main__":
    plugin.run()
