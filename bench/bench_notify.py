"""Chat notification: one finish message to a local json:// endpoint beside a bare HTTP POST.

The value is ``send_notification`` (render both formats in the Jinja sandbox, check the URL,
Apprise delivery, per-target result); the baseline is ``requests.post`` of a JSON body of the
same size to the same local server. Both run in this process, warmed up.
"""

from __future__ import annotations

import io
import sys

from common import ROOT, Result, time_call

sys.path.insert(0, str(ROOT / "tests"))


def benchmarks() -> list[Result]:
    import requests

    from deploytrail.record import ReleaseRecord
    from deploytrail.steps.notify import send_notification
    from deploytrail.teamcity import PlainReporter
    from fakes.chat import FakeChat

    commits = [{"sha": f"{i:040x}", "summary": f"Change number {i}", "author": "Bob"}
               for i in range(50)]
    record = ReleaseRecord(service="api", environment="production", version="1.4.2",
                           outcome="success", started_at="2026-11-26T23:28:37.000Z",
                           finished_at="2026-11-26T23:30:00.000Z", commits=commits,
                           ticket_key="CCB-1", ticket_url="https://jira.example.com/browse/CCB-1")
    reporter = PlainReporter(err=io.StringIO(), out=io.StringIO())
    with FakeChat() as chat:
        url = chat.json_url()

        def notify() -> None:
            send_notification(record, [url], "finish", reporter=reporter)

        def bare() -> None:
            requests.post(f"{chat.url}/json/deploys", json={
                "version": "1.0", "title": "api 1.4.2 is live", "message": "x" * 900,
                "attachments": [], "type": "success"}, timeout=5).raise_for_status()

        notify(), bare()  # warm up: imports, compiled templates, connections
        value, baseline = time_call(notify, runs=30), time_call(bare, runs=30)
        sent = len(chat.posts())

        def console() -> None:
            send_notification(record, ["console"], "finish", reporter=reporter)

        console()
        rendered = time_call(console, runs=30)
    assert sent >= 31, sent
    return [
        Result("notify finish to a local json:// endpoint", value * 1000, baseline * 1000, "ms",
               "baseline: requests.post (new connection, as Apprise) of a same-size JSON"),
        Result("notify finish to console (render only)", rendered * 1000, baseline * 1000, "ms",
               "baseline: the same bare HTTP POST"),
    ]
