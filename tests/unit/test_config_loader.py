"""desk.config: the shipped file loads; every error names the file and the dotted key."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from desk.config.loader import DEFAULT_CONFIG, ConfigError, load_config
from desk.config.model import DeskConfig

REPO = DEFAULT_CONFIG.parents[1]
DICTIONARY = REPO / "fix_specs" / "FIX44-desk.xml"
HASH = "scrypt$16384$8$1$fdtDuiTmxZMPHO0iR4GcHw==$q2jQn7N42ZwQ7FkR3nm09P9ojp8dALH72nakFHEZUWg="

# A small valid configuration; each error test breaks exactly one thing in it.
VALID = f"""
[desk]
var_dir = "var"

[fix]
port = 9876
dictionary = "{DICTIONARY.as_posix()}"
store_dir = "state/store"
log_dir = "state/log"

[market_data]
min_venues = 2

[instruments."BTC/USDT"]
tick = "0.01"
lot = "0.00001"
min_qty = "0.0001"
max_qty = "25"
max_notional = "2000000"
spread_bps = "5"

[instruments."ETH/USDT"]
tick = "0.01"
lot = "0.0001"
min_qty = "0.001"
max_qty = "500"
max_notional = "2000000"
spread_bps = "6"

[counterparties.CLIENT1]
username = "client1"
password_hash = "{HASH}"
allowed_symbols = ["BTC/USDT", "ETH/USDT"]
credit_limit = "10000000"
max_notional = "2000000"

[counterparties.CLIENT2]
username = "client2"
password_hash = "{HASH}"
credit_limit = "5000000"
max_notional = "1000000"

[[venues]]
name = "sim-a"
ccxt_id = "binance"
api_url = "http://127.0.0.1:18081/api/v3"

[[venues]]
name = "sim-b"
ccxt_id = "binance"
weight = "2"

[simulator]
[[simulator.venues]]
name = "sim-a"
port = 18081

[[simulator.venues]]
name = "sim-b"
port = 18082
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "desk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def broken(tmp_path: Path, old: str, new: str) -> Path:
    """VALID with ``old`` replaced by ``new`` (which must be there: a test breaks one thing)."""
    assert old in VALID, old
    return write(tmp_path, VALID.replace(old, new, 1))


def config_error(path: Path, env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={} if env is None else env)
    return caught.value


def assert_names(error: ConfigError, path: Path, key: str) -> None:
    assert error.source == path.resolve()
    assert error.key == key
    assert str(error).startswith(f"{path.resolve()}: {key}: ")


def test_load_when_shipped_config_then_every_section_is_read() -> None:
    config = load_config(DEFAULT_CONFIG, env={})

    assert config.source == DEFAULT_CONFIG
    assert sorted(config.instruments) == ["BTC/USDT", "ETH/USDT"]
    assert sorted(config.counterparties) == ["CLIENT1", "CLIENT2"]
    assert [v.name for v in config.venues] == ["sim-a", "sim-b", "sim-c"]
    assert config.instruments["BTC/USDT"].tick == Decimal("0.01")
    assert config.counterparties["CLIENT1"].password_hash.startswith("scrypt$")
    assert config.fix.port == 9876
    assert config.simulator is not None
    assert [(v.name, v.port) for v in config.simulator.venues] == [
        ("sim-a", 18081),
        ("sim-b", 18082),
        ("sim-c", 18083),
    ]


def test_load_when_shipped_config_then_relative_paths_resolve_against_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the working directory must not matter

    config = load_config(DEFAULT_CONFIG, env={})

    assert config.var_dir == REPO / "var"
    assert config.fix.dictionary == DICTIONARY
    assert config.fix.store_dir == REPO / "var" / "fix" / "store"
    assert config.fix.log_dir == REPO / "var" / "fix" / "log"
    assert config.database_url == f"sqlite:///{REPO / 'var' / 'desk.db'}"


def test_load_when_paths_relative_then_resolved_against_file_folder_not_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "dict.xml").write_bytes(DICTIONARY.read_bytes())
    path = folder / "desk.toml"
    path.write_text(VALID.replace(f'"{DICTIONARY.as_posix()}"', '"dict.xml"'), encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    config = load_config(Path("etc/desk.toml"), env={})

    assert config.source == path
    assert config.fix.dictionary == folder / "dict.xml"
    assert config.var_dir == folder / "var"
    assert config.fix.store_dir == folder / "state" / "store"
    assert config.fix.log_dir == folder / "state" / "log"
    assert config.database_url == f"sqlite:///{folder / 'var' / 'desk.db'}"


def test_load_when_desk_config_env_names_file_then_that_file_is_loaded(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)

    config = load_config(env={"DESK_CONFIG": str(path)})

    assert config.source == path
    assert config.market_data.min_venues == 2
    assert config.venues[1].weight == Decimal(2)


def test_load_when_env_overrides_given_then_database_url_and_fix_port_replaced(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, VALID)
    env = {"DESK_DATABASE_URL": "postgresql+psycopg://desk@db:5432/desk", "DESK_FIX_PORT": "9999"}

    config = load_config(path, env=env)

    assert config.database_url == "postgresql+psycopg://desk@db:5432/desk"
    assert config.fix.port == 9999


def test_load_when_env_database_url_and_file_database_url_then_env_wins(tmp_path: Path) -> None:
    # desk.toml documents both: a database_url in the file and DESK_DATABASE_URL to override it.
    path = broken(tmp_path, 'var_dir = "var"', 'var_dir = "var"\ndatabase_url = "sqlite:///f.db"')
    env = {"DESK_DATABASE_URL": "sqlite:///from-env.db"}

    config = load_config(path, env=env)

    assert config.database_url == "sqlite:///from-env.db"


def test_load_when_file_database_url_and_no_env_then_file_value_used(tmp_path: Path) -> None:
    path = broken(tmp_path, 'var_dir = "var"', 'var_dir = "var"\ndatabase_url = "sqlite:///f.db"')

    assert load_config(path, env={}).database_url == "sqlite:///f.db"


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("spread_bps = \"5\"", "spread_bps = \"5\"\nquote_tll_ms = 5000",
         "instruments.BTC/USDT.quote_tll_ms"),
        ("[market_data]", "[markt_data]", "markt_data"),
        ("port = 9876", "port = 9876\nheartbeat = 30", "fix.heartbeat"),
        ('name = "sim-b"\nccxt_id', 'name = "sim-b"\nwieght = "1"\nccxt_id', "venues[1].wieght"),
        ('port = 18082', 'port = 18082\nsed = 2', "simulator.venues[1].sed"),
        ('username = "client2"', 'username = "client2"\ncredit_limt = "1"',
         "counterparties.CLIENT2.credit_limt"),
    ],
)  # fmt: skip
def test_load_when_key_misspelt_then_error_names_file_and_dotted_key(
    tmp_path: Path, old: str, new: str, key: str
) -> None:
    path = broken(tmp_path, old, new)

    error = config_error(path)

    assert_names(error, path, key)
    assert error.problem == "is not a known setting"


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('tick = "0.01"\nlot = "0.00001"', 'tick = 0.01\nlot = "0.00001"',
         "instruments.BTC/USDT.tick"),
        ('credit_limit = "5000000"', "credit_limit = 5000000.0",
         "counterparties.CLIENT2.credit_limit"),
        ('weight = "2"', "weight = 2.5", "venues[1].weight"),
    ],
)  # fmt: skip
def test_load_when_decimal_written_as_float_then_refused_naming_key(
    tmp_path: Path, old: str, new: str, key: str
) -> None:
    path = broken(tmp_path, old, new)

    error = config_error(path)

    assert_names(error, path, key)
    assert "decimal written as a string" in error.problem


def test_load_when_password_hash_missing_then_required_error(tmp_path: Path) -> None:
    path = broken(tmp_path, f'username = "client2"\npassword_hash = "{HASH}"', 'username = "c2"')

    error = config_error(path)

    assert_names(error, path, "counterparties.CLIENT2.password_hash")
    assert error.problem == "is required"


def test_load_when_password_hash_is_plain_password_then_refused(tmp_path: Path) -> None:
    path = broken(tmp_path, f'password_hash = "{HASH}"', 'password_hash = "client1-demo"')

    error = config_error(path)

    assert_names(error, path, "counterparties.CLIENT1.password_hash")
    assert "hash-password" in error.problem
    assert "client1-demo" not in str(error)  # the secret itself is not echoed


def test_load_when_min_qty_above_max_qty_then_error_names_min_qty(tmp_path: Path) -> None:
    path = broken(tmp_path, 'min_qty = "0.001"', 'min_qty = "501"')

    assert_names(config_error(path), path, "instruments.ETH/USDT.min_qty")


def test_load_when_quote_retention_set_then_used_and_default_is_ten_minutes(
    tmp_path: Path,
) -> None:
    assert load_config(write(tmp_path, VALID), env={}).quote_retention_s == 600
    path = broken(tmp_path, 'var_dir = "var"', 'var_dir = "var"\nquote_retention_s = 90')

    assert load_config(path, env={}).quote_retention_s == 90


def test_load_when_quote_retention_zero_then_error_names_it(tmp_path: Path) -> None:
    path = broken(tmp_path, 'var_dir = "var"', 'var_dir = "var"\nquote_retention_s = 0')

    assert_names(config_error(path), path, "desk.quote_retention_s")


def test_load_when_vitals_interval_set_then_used_and_default_is_a_minute(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, VALID), env={}).vitals_interval_s == 60
    path = broken(tmp_path, 'var_dir = "var"', 'var_dir = "var"\nvitals_interval_s = 0')

    assert load_config(path, env={}).vitals_interval_s == 0


def test_load_when_vitals_interval_negative_then_error_names_it(tmp_path: Path) -> None:
    path = broken(tmp_path, 'var_dir = "var"', 'var_dir = "var"\nvitals_interval_s = -5')

    assert_names(config_error(path), path, "desk.vitals_interval_s")


def test_load_when_allowed_symbol_not_configured_then_error_names_allowed_symbols(
    tmp_path: Path,
) -> None:
    path = broken(
        tmp_path, 'allowed_symbols = ["BTC/USDT", "ETH/USDT"]', 'allowed_symbols = ["SOL/USDT"]'
    )

    error = config_error(path)

    assert_names(error, path, "counterparties.CLIENT1.allowed_symbols")
    assert "SOL/USDT" in error.problem


def test_load_when_two_counterparties_share_username_then_second_is_named(tmp_path: Path) -> None:
    path = broken(tmp_path, 'username = "client2"', 'username = "client1"')

    error = config_error(path)

    assert_names(error, path, "counterparties.CLIENT2.username")
    assert "client1" in error.problem


def test_load_when_min_venues_above_venue_count_then_error_names_min_venues(
    tmp_path: Path,
) -> None:
    path = broken(tmp_path, "min_venues = 2", "min_venues = 3")

    error = config_error(path)

    assert_names(error, path, "market_data.min_venues")
    assert "2 venues" in error.problem


def test_load_when_simulator_overrides_unknown_instrument_then_error_names_it(
    tmp_path: Path,
) -> None:
    path = broken(
        tmp_path, "[simulator]", '[simulator.symbols."SOL/USDT"]\nmid = "150"\n[simulator]'
    )

    assert_names(config_error(path), path, "simulator.symbols.SOL/USDT")


def test_load_when_simulator_venues_share_port_then_error_names_simulator_venues(
    tmp_path: Path,
) -> None:
    path = broken(tmp_path, "port = 18082", "port = 18081")

    error = config_error(path)

    assert_names(error, path, "simulator.venues")
    assert "port" in error.problem


def test_load_when_simulator_symbol_mid_overridden_then_used(tmp_path: Path) -> None:
    path = broken(
        tmp_path, "[simulator]", '[simulator.symbols."ETH/USDT"]\nmid = "2500"\n[simulator]'
    )

    config = load_config(path, env={})

    assert config.simulator is not None
    mids = {s.symbol: s.mid for s in config.simulator.venues[0].symbols}
    assert mids == {"BTC/USDT": Decimal(60000), "ETH/USDT": Decimal(2500)}


def test_load_when_fix_port_env_not_integer_then_error_names_the_variable(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, VALID)

    error = config_error(path, env={"DESK_FIX_PORT": "98x6"})

    assert error.key == "DESK_FIX_PORT"
    assert "'98x6'" in error.problem


def test_load_when_fix_port_env_out_of_range_then_error_names_the_variable(
    tmp_path: Path,
) -> None:
    # The file's fix.port (9876) is fine; the operator must be sent to the variable.
    path = write(tmp_path, VALID)

    error = config_error(path, env={"DESK_FIX_PORT": "70000"})

    assert error.key == "DESK_FIX_PORT"


def test_load_when_toml_syntax_broken_then_error_names_file(tmp_path: Path) -> None:
    path = broken(tmp_path, 'tick = "0.01"', 'tick = "0.01')

    error = config_error(path)

    assert_names(error, path, "(syntax)")
    assert "line" in error.problem


def test_load_when_file_missing_then_error_names_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"

    error = config_error(path)

    assert_names(error, path, "(file)")
    assert error.problem == "does not exist"


def test_load_when_instruments_missing_then_required_error(tmp_path: Path) -> None:
    text = VALID.split('[instruments."BTC/USDT"]')[0]
    path = write(tmp_path, text)

    assert_names(config_error(path), path, "instruments")


def test_load_when_config_loaded_then_objects_are_frozen(tmp_path: Path) -> None:
    config: DeskConfig = load_config(write(tmp_path, VALID), env={})

    with pytest.raises(AttributeError):
        config.halted = True  # type: ignore[misc]  # mypy knows it is frozen; we check runtime


# --- pricing, tiers, streaming ---------------------------------------------------------------


def test_load_when_shipped_config_then_pricing_tiers_and_streams_read() -> None:
    config = load_config(DEFAULT_CONFIG, env={})

    btc = config.instruments["BTC/USDT"]
    assert (btc.skew_bps_per_unit, btc.skew_cap_bps) == (Decimal(2), Decimal(10))
    assert btc.inventory_limit == Decimal(50)
    assert (btc.max_slippage_bps, btc.over_slippage) == (Decimal(50), "reject")
    assert config.instruments["ETH/USDT"].over_slippage == "penalty"
    assert config.tiers["gold"].spread_multiplier == Decimal("0.6")
    assert config.tiers["silver"].max_qty == {"BTC/USDT": Decimal(5), "ETH/USDT": Decimal(100)}
    assert config.counterparties["CLIENT1"].tier == "gold"
    assert config.pricing.outlier_band_bps == Decimal(50)
    assert config.market_data.streaming is True
    assert config.market_data.process is True
    assert config.venues[0].ws_url == "ws://127.0.0.1:18081/ws"
    assert config.venues[0].taker_fee_bps == Decimal(10)


def test_load_when_market_data_process_is_not_a_boolean_then_error_names_key(
    tmp_path: Path,
) -> None:
    path = broken(tmp_path, "[market_data]\n", '[market_data]\nprocess = "yes"\n')

    error = config_error(path)

    assert_names(error, path, "market_data.process")
    assert "true or false" in error.problem


def test_load_when_no_pricing_or_tiers_then_defaults_and_standard_tier(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, VALID), env={})

    assert config.counterparties["CLIENT1"].tier == "standard"
    assert config.tiers["standard"].spread_multiplier == Decimal(1)
    assert config.instruments["BTC/USDT"].inventory_limit is None


def test_load_when_counterparty_names_unknown_tier_then_error_names_tier(tmp_path: Path) -> None:
    path = broken(tmp_path, 'username = "client1"', 'username = "client1"\ntier = "platinum"')

    error = config_error(path)

    assert_names(error, path, "counterparties.CLIENT1.tier")
    assert "platinum" in error.problem


def test_load_when_readmit_band_not_inside_outlier_band_then_error_names_readmit(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path, VALID + '\n[pricing]\noutlier_band_bps = "20"\noutlier_readmit_bps = "20"\n'
    )

    assert_names(config_error(path), path, "pricing.outlier_readmit_bps")


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ('over_slippage = "ignore"', "over_slippage"),
        ('over_slippage = "penalty"', "slippage_penalty_bps"),
        ('max_slippage_bps = "2001"', "max_slippage_bps"),
        ('inventory_limit = "0"', "inventory_limit"),
    ],
)
def test_load_when_instrument_pricing_key_invalid_then_error_names_it(
    tmp_path: Path, extra: str, key: str
) -> None:
    path = broken(tmp_path, 'spread_bps = "5"', f'spread_bps = "5"\n{extra}')

    assert_names(config_error(path), path, f"instruments.BTC/USDT.{key}")


def test_load_when_tier_caps_unknown_instrument_then_error_names_it(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + '\n[tiers.gold.max_qty]\n"DOGE/USDT" = "5"\n')

    assert_names(config_error(path), path, "tiers.gold.max_qty.DOGE/USDT")


def test_load_when_taker_fee_absurd_then_error_names_it(tmp_path: Path) -> None:
    path = broken(tmp_path, 'weight = "2"', 'weight = "2"\ntaker_fee_bps = "1500"')

    assert_names(config_error(path), path, "venues[1].taker_fee_bps")


def test_load_when_net_window_set_then_used_and_default_is_fifty_ms(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, VALID), env={}).hedging.net_window_ms == 50
    path = write(tmp_path, VALID + "\n[hedging]\nnet_window_ms = 0\n")

    assert load_config(path, env={}).hedging.net_window_ms == 0


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        ("net_window_ms = -1", "must be >= 0"),
        ("net_window_ms = 2000\nmax_unhedged_ms = 2000", "must be below max_unhedged_ms (2000)"),
    ],
)
def test_load_when_net_window_negative_or_past_the_alert_then_error_names_it(
    tmp_path: Path, lines: str, problem: str
) -> None:
    path = write(tmp_path, VALID + f"\n[hedging]\n{lines}\n")

    error = config_error(path)

    assert_names(error, path, "hedging.net_window_ms")
    assert problem in error.problem
