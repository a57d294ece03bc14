"""``python -m reference_impl``: read the contract's environment, refuse a live key, serve."""

from __future__ import annotations

import os
import sys

import uvicorn

from reference_impl import logging as service_logging
from reference_impl.app import create_app
from reference_impl.config import Config, ConfigError


def main() -> int:
    service_logging.configure()
    try:
        config = Config.from_env(os.environ)
    except ConfigError as exc:
        print(f"reference_impl: refusing to start: {exc}", file=sys.stderr)
        return 2
    app = create_app(config)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=config.port,
            log_config=None,  # keep our redacting JSON handler
            lifespan="on",
            timeout_graceful_shutdown=config.drain_timeout_s,  # SIGTERM drains in-flight requests
            server_header=False,
        )
    )
    server.run()
    if not server.started or app.state.runtime.fatal:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
