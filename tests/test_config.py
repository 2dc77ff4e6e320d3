"""Configuration: one way to read it for `run` and `chat`, strict LOG_LEVEL, a light import."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from telegram.ext import AIORateLimiter

from bot.app import Models, build_application
from bot.config import DEFAULT_CHECKPOINT_DIR, LOG_LEVELS, ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
OWN_VARIABLES = (
    "TELEGRAM_", "DATABASE_", "NAMECRAFT_", "LOG_LEVEL", "BOT_MODE", "WEBHOOK_", "METRICS_PORT",
    "PORT",
)  # fmt: skip


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(OWN_VARIABLES)}
    env.update(PYTHONPATH=str(ROOT), **extra)
    return env


async def run_bot_module(
    *args: str, cwd: Path, env: dict[str, str], stdin: str = ""
) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, *args,
        cwd=cwd, env=env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(stdin.encode()), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.fixture
def no_own_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """None of the bot's variables set; monkeypatch puts the environment back afterwards."""
    for key in list(os.environ):
        if key.startswith(OWN_VARIABLES):
            monkeypatch.delenv(key)


def test_default_checkpoint_dir_is_the_one_ml_uses() -> None:
    from ml.names.registry import DEFAULT_CHECKPOINT_DIR as ML_DEFAULT

    assert DEFAULT_CHECKPOINT_DIR == ML_DEFAULT


async def test_config_import_and_missing_token_do_not_load_torch(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "import bot.config\n"
        "from bot.__main__ import main\n"
        "print('imported', sorted(m for m in ('torch', 'telegram') if m in sys.modules))\n"
        "rc = main(['run'])\n"
        "print('rc', rc, 'torch' in sys.modules)\n"
    )
    rc, out, err = await run_bot_module("-c", code, cwd=tmp_path, env=clean_env())
    assert rc == 0, err
    assert out.splitlines() == ["imported []", "rc 2 False"]
    assert "TELEGRAM_BOT_TOKEN" in err


@pytest.mark.usefixtures("no_own_env")
@pytest.mark.parametrize("level", ["VERBOSE", "warn", "20", "INF O"])
def test_mistyped_log_level_is_refused_naming_the_levels(
    level: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:x")
    monkeypatch.setenv("LOG_LEVEL", level)
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / ".env")
    message = str(caught.value)
    assert "LOG_LEVEL" in message and level.strip() in message
    assert all(name in message for name in LOG_LEVELS)


@pytest.mark.usefixtures("no_own_env")
def test_log_level_any_case_and_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:x")
    monkeypatch.setenv("LOG_LEVEL", " debug ")
    assert load_settings(tmp_path / ".env").log_level == "DEBUG"
    monkeypatch.delenv("LOG_LEVEL")
    assert load_settings(tmp_path / ".env").log_level == "INFO"
    chat = load_settings(tmp_path / ".env", require_token=False, default_log_level="WARNING")
    assert chat.log_level == "WARNING"


async def test_run_with_mistyped_log_level_exits_2_with_one_clear_line(tmp_path: Path) -> None:
    env = clean_env(TELEGRAM_BOT_TOKEN="123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAA", LOG_LEVEL="VERBOSE")
    rc, _, err = await run_bot_module("-m", "bot", "run", cwd=tmp_path, env=env)
    assert rc == 2
    assert err.strip().splitlines() == [
        "LOG_LEVEL='VERBOSE' is not a logging level; use one of "
        "DEBUG, INFO, WARNING, ERROR, CRITICAL."
    ]


async def test_chat_reads_dotenv_and_checkpoint_dir(tmp_path: Path) -> None:
    """`python -m bot chat` reads .env like `run` does: its checkpoint folder (here one with
    the English name model only) and its database."""
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    (checkpoints / "names-en.pt").symlink_to(DEFAULT_CHECKPOINT_DIR / "names-en.pt")
    database = tmp_path / "from-dotenv.db"
    dotenv = [
        f"NAMECRAFT_CHECKPOINT_DIR={checkpoints}",
        f"DATABASE_URL=sqlite+aiosqlite:///{database}",
    ]
    (tmp_path / ".env").write_text("\n".join(dotenv) + "\n", encoding="utf-8")
    rc, out, err = await run_bot_module(
        "-m", "bot", "chat", cwd=tmp_path, env=clean_env(), stdin="/style ru\nhello there\n"
    )
    assert rc == 0, err
    assert "I don't know the style “ru”. Available: en." in out, out
    assert "Reading reviews in this language isn't available right now." in out, out
    assert database.exists()
    assert not (tmp_path / "data").exists()  # not the default data/chat.db


async def test_chat_with_mistyped_log_level_exits_2(tmp_path: Path) -> None:
    rc, _, err = await run_bot_module(
        "-m", "bot", "chat", cwd=tmp_path, env=clean_env(LOG_LEVEL="LOUD")
    )
    assert rc == 2 and "LOG_LEVEL='LOUD'" in err and "WARNING" in err


@pytest.mark.usefixtures("no_own_env")
def test_the_environment_wins_over_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """README: settings come from the environment or from .env; the environment wins, and
    .env fills in what the environment leaves out."""
    (tmp_path / ".env").write_text(
        "TELEGRAM_BOT_TOKEN=1:from-dotenv\n"
        "BOT_RATE_LIMIT=7\n"
        "TELEGRAM_API_BASE_URL=http://127.0.0.1:8081/bot\n"
        "LOG_LEVEL=ERROR\n",
        encoding="utf-8",
    )
    for key in ("TELEGRAM_API_BASE_URL", "LOG_LEVEL"):  # .env sets them: taken back afterwards
        monkeypatch.setenv(key, "")
        monkeypatch.delenv(key)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "2:from-environment")
    monkeypatch.setenv("BOT_RATE_LIMIT", "12")
    settings = load_settings(tmp_path / ".env")
    assert settings.token == "2:from-environment" and settings.bot_rate_limit == 12
    assert settings.api_base_url == "http://127.0.0.1:8081/bot" and settings.log_level == "ERROR"


@pytest.mark.usefixtures("no_own_env")
def test_bot_rate_limit_default_number_and_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:x")
    assert load_settings(tmp_path / ".env").bot_rate_limit == 30  # Telegram's documented rate
    for raw, value in [("0", 0), (" 12 ", 12), ("2.5", 2.5)]:
        monkeypatch.setenv("BOT_RATE_LIMIT", raw)
        assert load_settings(tmp_path / ".env").bot_rate_limit == value
    monkeypatch.delenv("BOT_RATE_LIMIT")
    (tmp_path / ".env").write_text("BOT_RATE_LIMIT=0\n", encoding="utf-8")
    assert load_settings(tmp_path / ".env").bot_rate_limit == 0


@pytest.mark.usefixtures("no_own_env")
@pytest.mark.parametrize("raw", ["-1", "fast", "nan", "inf", "30/s"])
def test_bad_bot_rate_limit_is_refused_naming_the_variable(
    raw: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:x")
    monkeypatch.setenv("BOT_RATE_LIMIT", raw)
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / ".env")
    assert f"BOT_RATE_LIMIT={raw!r}" in str(caught.value)


def test_bot_rate_limit_sets_the_applications_limiter(
    shipped_models: Models, tmp_path: Path
) -> None:
    """30 (the default) gives PTB's AIORateLimiter at 30 messages/s that retries a 429;
    0 builds the Application with no rate limiter at all."""
    built = {}
    for rate in (30.0, 0.0):
        settings = Settings(token="1:x", database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
        app = build_application(replace(settings, bot_rate_limit=rate), shipped_models)
        app.bot_data["executor"].shutdown()
        built[rate] = app.bot.rate_limiter
    limiter = built[30.0]
    assert isinstance(limiter, AIORateLimiter)
    assert limiter._base_limiter is not None
    assert (limiter._base_limiter.max_rate, limiter._base_limiter.time_period) == (30, 1)
    assert limiter._max_retries == 2
    assert built[0.0] is None


@pytest.mark.usefixtures("no_own_env")
def test_polling_is_the_default_and_webhook_settings_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:x")
    settings = load_settings(tmp_path / ".env")
    assert settings.mode == "polling" and settings.metrics_port == 0
    assert (settings.webhook_listen, settings.webhook_port) == ("127.0.0.1", 8080)
    assert settings.webhook_max_connections == 40
    monkeypatch.setenv("BOT_MODE", "Webhook")
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.org/tg/hook/")
    monkeypatch.setenv("WEBHOOK_SECRET", "abc_DEF-123")
    monkeypatch.setenv("WEBHOOK_LISTEN", "0.0.0.0")
    monkeypatch.setenv("PORT", "5000")  # a Procfile platform's port, when WEBHOOK_PORT is unset
    monkeypatch.setenv("WEBHOOK_MAX_CONNECTIONS", "100")
    monkeypatch.setenv("METRICS_PORT", "9100")
    settings = load_settings(tmp_path / ".env")
    assert settings.mode == "webhook" and settings.webhook_path == "/tg/hook"
    assert (settings.webhook_listen, settings.webhook_port) == ("0.0.0.0", 5000)
    assert settings.webhook_max_connections == 100 and settings.metrics_port == 9100
    assert "abc_DEF-123" not in repr(settings)  # the secret is never printed, like the token
    monkeypatch.setenv("WEBHOOK_PORT", "8443")
    assert load_settings(tmp_path / ".env").webhook_port == 8443
    monkeypatch.setenv("BOT_MODE", "polling")
    assert load_settings(tmp_path / ".env", mode="webhook").mode == "webhook"  # the command wins


@pytest.mark.usefixtures("no_own_env")
@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"BOT_MODE": "hooks"}, "BOT_MODE='hooks'"),
        ({"BOT_MODE": "webhook", "WEBHOOK_SECRET": "abc"}, "WEBHOOK_URL is not set"),
        ({"BOT_MODE": "webhook", "WEBHOOK_URL": "https://x.org/t"}, "WEBHOOK_SECRET is not set"),
        (
            {"BOT_MODE": "webhook", "WEBHOOK_URL": "https://x.org/t", "WEBHOOK_SECRET": "a b"},
            "WEBHOOK_SECRET may hold only",
        ),
        (
            {"BOT_MODE": "webhook", "WEBHOOK_URL": "x.org/t", "WEBHOOK_SECRET": "abc"},
            "WEBHOOK_URL='x.org/t'",
        ),
        ({"WEBHOOK_PORT": "70000"}, "WEBHOOK_PORT='70000'"),
        ({"METRICS_PORT": "-1"}, "METRICS_PORT='-1'"),
        (
            {
                "BOT_MODE": "webhook",
                "WEBHOOK_URL": "https://x.org/t",
                "WEBHOOK_SECRET": "abc",
                "WEBHOOK_MAX_CONNECTIONS": "101",
            },
            "WEBHOOK_MAX_CONNECTIONS=101",
        ),
    ],
)
def test_webhook_settings_that_cannot_work_are_refused_naming_them(
    variables: dict[str, str], named: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:x")
    for key, value in variables.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / ".env")
    assert named in str(caught.value)
