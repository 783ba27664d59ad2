"""The floor: a bare QuickFIX acceptor answering every QuoteRequest with a fixed Quote.

Same engine, Python binding, data dictionary and session settings (file store and file log)
as the desk, and no desk logic. Run as its own process by the benchmark runner:

    python -m bench.baseline_acceptor --settings PATH
"""

from __future__ import annotations

import argparse
import signal
import threading

import quickfix as fix

QUOTE_REQUEST = "R"


class EchoQuoteApplication(fix.Application):  # type: ignore[misc] # SWIG base class is untyped
    """Answers QuoteRequest with a fixed two-way Quote; accepts any Logon."""

    def onCreate(self, session_id: fix.SessionID) -> None:
        pass

    def onLogon(self, session_id: fix.SessionID) -> None:
        pass

    def onLogout(self, session_id: fix.SessionID) -> None:
        pass

    def toAdmin(self, message: fix.Message, session_id: fix.SessionID) -> None:
        pass

    def fromAdmin(self, message: fix.Message, session_id: fix.SessionID) -> None:
        pass

    def toApp(self, message: fix.Message, session_id: fix.SessionID) -> None:
        pass

    def fromApp(self, message: fix.Message, session_id: fix.SessionID) -> None:
        if message.getHeader().getField(35) != QUOTE_REQUEST:
            raise fix.UnsupportedMessageType()
        group = fix.Group(146, 55)
        message.getGroup(1, group)
        quote = fix.Message()
        quote.getHeader().setField(fix.MsgType("S"))
        quote.setField(131, message.getField(131))
        quote.setField(117, "BASELINE-1")
        quote.setField(55, group.getField(55))
        quote.setField(38, group.getField(38))
        quote.setField(132, "59990.00")
        quote.setField(133, "60010.00")
        quote.setField(134, group.getField(38))
        quote.setField(135, group.getField(38))
        fix.Session.sendToTarget(quote, session_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--settings", required=True, help="QuickFIX settings file")
    args = parser.parse_args()
    settings = fix.SessionSettings(args.settings)
    application = EchoQuoteApplication()
    store = fix.FileStoreFactory(settings)
    logs = fix.FileLogFactory(settings)
    acceptor = fix.ThreadedSocketAcceptor(application, store, settings, logs)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    acceptor.start()
    print("baseline.listening", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        acceptor.stop()


if __name__ == "__main__":
    main()
