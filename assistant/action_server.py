"""Guichet's action server: rasa_sdk's, closed to everyone but Rasa.

`python -m assistant.action_server --port 5055` (other rasa_sdk options apply). The action
server holds the token to the dossier API, so a forged tracker sent to it could look up any
dossier as anyone: it answers only calls with GUICHET_ACTIONS_TOKEN (Rasa sends it, see
endpoints.yml), sends no CORS headers, listens on SANIC_HOST (127.0.0.1 by default), and its
errors never echo the request (a tracker full of personal data) back or into the logs.
"""

import hmac
import logging
import os
import sys
import traceback

from rasa_sdk import utils
from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
from rasa_sdk.endpoint import create_app, create_argument_parser
from rasa_sdk.plugin import plugin_manager
from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from assistant.actions import api_client

ACTIONS_PACKAGE = "assistant.actions"
OPEN_PATHS = frozenset({"/health"})
logger = logging.getLogger(__name__)


def secure_app(token: str, actions_package: str = ACTIONS_PACKAGE) -> Sanic:
    """rasa_sdk's app with a bearer-token check on every route but /health."""
    if not token:
        raise SystemExit(
            "GUICHET_ACTIONS_TOKEN est vide : le serveur d'actions refuse de démarrer sans jeton. "
            "/ GUICHET_ACTIONS_TOKEN is empty: the action server will not start without a token."
        )
    expected = f"Bearer {token}".encode()
    app = create_app(actions_package, cors_origins=None)

    @app.middleware("request")
    async def require_token(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS:
            return None
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            return response.json({"error": "unauthorised"}, status=401)
        return None

    @app.exception(Exception)
    async def quiet_error(_request: Request, error: Exception) -> HTTPResponse:
        if isinstance(error, SanicException):  # an unknown path or method: Sanic's own answer
            return response.json({"error": "not here"}, status=error.status_code)
        # rasa_sdk's own handler logs the request and sends the tracker back: not ours.
        logger.error(
            "action failed: %s\n%s",
            type(error).__name__,
            "".join(traceback.format_tb(error.__traceback__)),
        )
        return response.json({"error": "action failed"}, status=500)

    @app.after_server_stop
    async def close_api_connections(_app: Sanic, _loop: object) -> None:
        await api_client.close_shared()

    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    return app


def main(argv: list[str] | None = None) -> None:
    args = create_argument_parser().parse_args(argv)
    utils.configure_colored_logging(args.loglevel)
    utils.configure_file_logging(
        logging.getLogger(APPLICATION_ROOT_LOGGER_NAME),
        args.log_file,
        args.loglevel,
        args.logging_config_file,
    )
    utils.update_sanic_log_level()
    app = secure_app(os.environ.get("GUICHET_ACTIONS_TOKEN", ""), args.actions or ACTIONS_PACKAGE)
    host = os.environ.get("SANIC_HOST", "127.0.0.1")
    logger.info("Guichet action server on http://%s:%s", host, args.port)
    app.run(host, args.port, workers=utils.number_of_sanic_workers(), access_log=False)


if __name__ == "__main__":
    main(sys.argv[1:])
