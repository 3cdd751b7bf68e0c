"""The daemon's ingest coalescing, without a scheduler or threads of its own."""

from __future__ import annotations

from collections.abc import Callable
from threading import Event

import pytest

from feeder.daemon.coalescing import IngestCoalescer, IngestWork


class Recorder:
    """An ingest that records each run's work and may act during a run, as events do."""

    def __init__(self, during_first_run: Callable[[], None] = lambda: None) -> None:
        self.runs: list[IngestWork] = []
        self.during_first_run = during_first_run

    def __call__(self, work: IngestWork) -> None:
        self.runs.append(work)
        if len(self.runs) == 1:
            self.during_first_run()


def test_a_run_covers_the_files_named_by_events_and_nothing_else() -> None:
    requests = IngestCoalescer()
    requests.file_arrived("a.txt", complete=True)
    requests.file_arrived("b.txt", complete=False)
    ingest = Recorder()
    requests.run(ingest, Event())
    assert ingest.runs == [IngestWork(["a.txt", "b.txt"], ["a.txt"])]


def test_a_scan_looks_at_the_whole_inbox_and_still_knows_which_files_are_complete() -> None:
    requests = IngestCoalescer()
    requests.file_arrived("a.txt", complete=True)
    ingest = Recorder()
    requests.run(ingest, Event(), scan=True)
    assert ingest.runs == [IngestWork(None, ["a.txt"])]


def test_nothing_asked_for_is_no_run() -> None:
    ingest = Recorder()
    IngestCoalescer().run(ingest, Event())
    assert ingest.runs == []


def test_a_file_is_complete_once_any_event_said_so() -> None:
    requests = IngestCoalescer()
    requests.file_arrived("a.txt", complete=False)
    requests.file_arrived("a.txt", complete=True)
    requests.file_arrived("a.txt", complete=False)  # a later bare "created" does not undo it
    ingest = Recorder()
    requests.run(ingest, Event())
    assert ingest.runs == [IngestWork(["a.txt"], ["a.txt"])]


def test_events_during_a_run_cause_exactly_one_rerun_covering_all_of_them() -> None:
    requests = IngestCoalescer()
    asked: list[bool] = []

    def burst() -> None:
        for name in ("b.txt", "c.txt", "d.txt"):
            requests.file_arrived(name, complete=True)
            asked.append(requests.request())

    requests.file_arrived("a.txt", complete=True)
    assert requests.request()  # idle: the caller starts a run
    ingest = Recorder(during_first_run=burst)
    requests.run(ingest, Event())
    assert asked == [False, False, False]  # the running ingest goes round again instead
    assert ingest.runs == [
        IngestWork(["a.txt"], ["a.txt"]),
        IngestWork(["b.txt", "c.txt", "d.txt"], ["b.txt", "c.txt", "d.txt"]),
    ]
    assert requests.request()  # idle again once the rerun is done


def test_a_second_job_during_a_run_hands_its_scan_to_the_running_one() -> None:
    requests = IngestCoalescer()
    stop = Event()
    second_job_returned: list[bool] = []

    def interval_job_fires() -> None:
        requests.run(ingest, stop, scan=True)  # as the scheduler's other ingest job would
        second_job_returned.append(True)

    requests.file_arrived("a.txt", complete=True)
    ingest = Recorder(during_first_run=interval_job_fires)
    requests.run(ingest, stop)
    assert second_job_returned == [True]
    assert ingest.runs == [IngestWork(["a.txt"], ["a.txt"]), IngestWork(None, [])]


def test_stop_ends_the_runs_even_with_work_left() -> None:
    requests = IngestCoalescer()
    stop = Event()

    def more_arrives_and_the_daemon_stops() -> None:
        requests.file_arrived("b.txt", complete=True)
        requests.request()
        stop.set()

    requests.file_arrived("a.txt", complete=True)
    ingest = Recorder(during_first_run=more_arrives_and_the_daemon_stops)
    requests.run(ingest, stop)
    assert ingest.runs == [IngestWork(["a.txt"], ["a.txt"])]
    assert requests.request()  # no run is left marked as running


def test_a_failing_run_leaves_the_coalescer_idle() -> None:
    requests = IngestCoalescer()

    def failing(work: IngestWork) -> None:
        raise OSError("disk full")

    requests.file_arrived("a.txt", complete=True)
    with pytest.raises(OSError, match="disk full"):
        requests.run(failing, Event())
    assert requests.request()
