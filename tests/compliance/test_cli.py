"""``otc-desk report``: the same cells as CSV, JSON and a table on SQLite and PostgreSQL, and
clear errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from desk.cli.main import main
from tests.compliance.scenario import PRICING_JSON

CONFIG = Path(__file__).resolve().parents[2] / "config" / "desk.toml"
JANUARY = ["--from", "2026-01-05", "--to", "2026-02-01"]


def report(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """Run ``otc-desk report ...`` on ``url``: exit status, stdout, stderr."""
    monkeypatch.setenv("DESK_DATABASE_URL", url)
    status = main(["--config", str(CONFIG), "report", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_csv_is_rfc_4180_with_plain_decimals(
    seeded_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = report(seeded_url, monkeypatch, capsys, "daily-volume", *JANUARY,
                            "--format", "csv")  # fmt: skip
    assert status == 0
    assert out == (
        "trade_date,counterparty,symbol,currency,trades,base_volume,quote_notional\r\n"
        "2026-01-05,ACME,BTC/USDT,USDT,2,0.3,18000\r\n"
        "2026-01-06,BETA,BTC/USDT,USDT,1,1,7500.249999999999999999\r\n"
        "2026-01-06,BETA,ETH/USDT,USDT,2,2.500000000000000001,7500.250000000000003\r\n"
    )


def test_csv_quotes_json_cells_and_writes_utc_times(
    seeded_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = report(seeded_url, monkeypatch, capsys, "trade-life", "--trade-id", "1",
                            "--format", "csv")  # fmt: skip
    assert status == 0
    lines = out.split("\r\n")
    assert lines[0] == "at,event,reference,party,side,qty,price,fee,status,detail"
    assert lines[1] == "2026-01-05T11:59:58.000001Z,RFQ,R-A1,ACME,,,,,,"
    assert lines[2] == (
        "2026-01-05T11:59:58.500000Z,QUOTE,Q-A1,ACME,,,,,,"
        + '"' + PRICING_JSON.replace('"', '""') + '"'
    )  # fmt: skip
    parsed = list(csv.reader(io.StringIO(out, newline="")))
    assert parsed[2][-1] == PRICING_JSON
    assert parsed[-1] == ["2026-01-05T13:00:04.000000Z", "EXCHANGE_FILL", "exchange:binance:T101",
                          "binance", "SELL", "0.04", "60009", "0.0024", "", "USDT"]  # fmt: skip


def test_json_is_an_array_of_objects_with_decimal_strings(
    seeded_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = report(seeded_url, monkeypatch, capsys, "rfq-outcomes", *JANUARY,
                            "--counterparty", "BETA", "--format", "json")  # fmt: skip
    assert status == 0
    assert json.loads(out) == [
        {"counterparty": "BETA", "reject_reason": None, "requests": 4, "quotes": 4, "rejects": 0,
         "orders": 3, "filled_orders": 3, "rejected_orders": 0, "hit_ratio": "0.75"},
    ]  # fmt: skip


def test_table_is_aligned_with_numbers_to_the_right(
    seeded_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = report(seeded_url, monkeypatch, capsys, "exposure", "--to", "2026-01-07",
                            "--counterparty", "ACME")  # fmt: skip
    assert status == 0
    assert out == (
        "counterparty  kind        item      net     unsettled\n"
        "ACME          ASSET       BTC         -0.1          0\n"
        "ACME          ASSET       USDT      5999.9          0\n"
        "ACME          INSTRUMENT  BTC/USDT    -0.1\n"
        "(3 rows)\n"
    )


def test_large_trades_from_the_command_line(
    seeded_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = report(seeded_url, monkeypatch, capsys, "large-trades", *JANUARY,
                            "--min-notional", "7500.25", "--format", "csv")  # fmt: skip
    assert status == 0
    assert [line.split(",")[0] for line in out.splitlines()] == ["trade_id", "2", "3"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["volume", *JANUARY],
         "unknown report 'volume'; the reports are: trade-log, rfq-outcomes, daily-volume, "
         "exposure, large-trades, trade-life"),
        (["trade-life"], "trade-life needs --trade-id"),
        (["large-trades", *JANUARY], "large-trades needs --min-notional"),
        (["trade-log", "--to", "2026-02-01"], "trade-log needs --from"),
        (["trade-log", "--from", "2026-02-01", "--to", "2026-01-01"],
         "--from (2026-02-01T00:00:00+00:00) must be before --to (2026-01-01T00:00:00+00:00)"),
        (["exposure", *JANUARY], "exposure does not take --from (it takes: --to [--counterparty])"),
        (["trade-life", "--trade-id", "1", "--counterparty", "ACME"],
         "trade-life does not take --counterparty (it takes: --trade-id)"),
    ],
)  # fmt: skip
def test_a_wrong_command_line_is_refused_with_a_reason(
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    status, out, err = report(sqlite_url, monkeypatch, capsys, *args)
    assert (status, out, err) == (2, "", f"otc-desk report: {message}\n")


def test_a_bad_amount_is_refused_by_the_parser(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        report(sqlite_url, monkeypatch, capsys, "large-trades", *JANUARY, "--min-notional", "1e")
    assert exit_.value.code == 2
    assert "not a decimal amount: '1e'" in capsys.readouterr().err


def test_an_unmigrated_database_is_reported_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    status, out, err = report(url, monkeypatch, capsys, "trade-log", *JANUARY)
    assert (status, out) == (1, "")
    assert err == (
        f"otc-desk report: trade-log failed on {url}: no such table: trade_log "
        "(is the ledger migrated? otc-desk db upgrade)\n"
    )
