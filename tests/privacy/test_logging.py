"""The logging filter, and assistant/logging.yml as Rasa and rasa_sdk load it."""

import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from assistant.privacy import (
    PersonalDataFilter,
    install_record_masking,
    uninstall_record_masking,
)

ROOT = Path(__file__).resolve().parents[2]
LOGGING_FILE = ROOT / "assistant" / "logging.yml"
SECRETS = ("1961", "04/07", "2611000002", "26 11 000 002", "06 12 34 56 78")


def record(msg, args=(), exc_info=None, **extra) -> logging.LogRecord:
    made = logging.LogRecord("rasa.core.processor", logging.INFO, __file__, 1, msg, args, exc_info)
    made.__dict__.update(extra)
    return made


def formatted(made: logging.LogRecord) -> str:
    return logging.Formatter("%(message)s").format(made)


def assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def test_filter_masks_message_and_arguments():
    made = record("Received %s from %s (tel. %s)", ("né le 04/07/1961", 2611000002, "0612345678"))
    assert PersonalDataFilter().filter(made) is True
    assert formatted(made) == "Received né le [date] from [numéro] (tel. [téléphone])"
    assert made.args is None


def test_filter_masks_dict_arguments():
    made = record("slots: %(slots)s", ({"slots": {"numero_dossier": "26 11 000 002"}},))
    PersonalDataFilter().filter(made)
    assert formatted(made) == "slots: {'numero_dossier': '[numéro]'}"


def test_filter_masks_exception_messages():
    try:
        raise ValueError("invalid isoformat string: '04/07/1961' for 2611000002")
    except ValueError:
        made = record("lookup failed", exc_info=sys.exc_info())
    PersonalDataFilter().filter(made)
    text = formatted(made)
    assert made.exc_info is None
    assert "Traceback (most recent call last)" in text
    assert "ValueError: invalid isoformat string: '[date]' for [numéro]" in text
    assert_clean(text)


def test_filter_masks_an_already_formatted_exception_and_extras():
    made = record("error", exc_text="KeyError: '04/07/1961'", request="GET /?n=2611000002")
    PersonalDataFilter().filter(made)
    assert made.exc_text == "KeyError: '[date]'"
    assert made.request == "GET /?n=[numéro]"


def test_filter_keeps_ordinary_records():
    made = record("Rasa server is up and running on port %d.", (5005,))
    PersonalDataFilter().filter(made)
    assert formatted(made) == "Rasa server is up and running on port 5005."


@pytest.fixture
def record_masking():
    install_record_masking()
    install_record_masking()  # idempotent
    yield
    uninstall_record_masking()


def test_record_masking_covers_handlers_without_the_filter(record_masking):
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("tests.privacy.unfiltered")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("date %s, number %s", "1961-07-04", "2611000002")
    finally:
        logger.removeHandler(handler)
    assert [formatted(made) for made in records] == ["date [date], number [numéro]"]


def test_record_masking_is_removed_cleanly(record_masking):
    uninstall_record_masking()
    assert logging.getLogRecordFactory() is logging.LogRecord


def run_python(*parts: str) -> subprocess.CompletedProcess:
    """Run the script `parts` in a fresh interpreter of this environment, from the root."""
    return subprocess.run(
        [sys.executable, "-c", "\n".join(textwrap.dedent(part) for part in parts)],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "SQLALCHEMY_SILENCE_UBER_WARNING": "1", "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


LOG_LINES = """
    import logging, sys, structlog
    processor = logging.getLogger("rasa.core.processor")
    processor.info("Received %s / %s", "né le 04/07/1961", "2611000002")
    logging.getLogger("assistant.channels").info("message: 06 12 34 56 78")
    logging.getLogger("sanic.error").error("Exception while handling uri: /?n=26 11 000 002")
    logging.getLogger("some.library").warning("1961-07-04")
    try:
        raise ValueError("bad date '04/07/1961'")
    except ValueError:
        logging.getLogger("rasa.server").exception("failed for 2611000002")
    print("done", file=sys.stderr)
"""


def test_rasa_loads_the_file_and_masks_every_logger():
    # The order of `rasa run`: the file, coloredlogs on the root logger, structlog, then the
    # HTTP API's Sanic app (which configures its own loggers), then Sanic's levels.
    result = run_python(
        f"""
        import rasa.utils.common, rasa.utils.io
        from rasa.utils.log_utils import configure_structlog
        rasa.utils.common.configure_logging_and_warnings(None, {str(LOGGING_FILE)!r})
        rasa.utils.io.configure_colored_logging(None)
        configure_structlog(None)
        from sanic import Sanic
        Sanic("rasa_server")
        rasa.utils.common.update_sanic_log_level()
        """,
        LOG_LINES,
        """
        structlog.get_logger().info("processor.message", text="le 4 août 1961")
        """,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "done" in output
    assert "Received né le [date] / [numéro]" in output
    assert "message: [téléphone]" in output
    assert "uri: /?n=[numéro]" in output
    assert "ValueError: bad date '[date]'" in output
    assert_clean(output)


def test_rasa_sdk_loads_the_file_with_its_own_flag():
    # The order of rasa_sdk's __main__ (and of assistant/action_server.py).
    result = run_python(
        f"""
        import logging
        from rasa_sdk import utils
        from rasa_sdk.endpoint import create_argument_parser
        args = create_argument_parser().parse_args(["--logging-config_file", {str(LOGGING_FILE)!r}])
        utils.configure_colored_logging(args.loglevel)
        utils.configure_file_logging(
            logging.getLogger("rasa_sdk"), args.log_file, args.loglevel, args.logging_config_file
        )
        utils.update_sanic_log_level()
        logging.getLogger("rasa_sdk.executor").info("slot date_naissance: 04/07/1961")
        """,
        LOG_LINES,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "slot date_naissance: [date]" in output
    assert "Received né le [date] / [numéro]" in output
    assert_clean(output)
